add_executable(bench_kafka kafka.cpp)
target_compile_options(bench_kafka PRIVATE ${SLUICE_WARNINGS})
target_link_libraries(bench_kafka PRIVATE sluice)
