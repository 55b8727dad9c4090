add_executable(bench_parquet parquet.cpp)
target_compile_options(bench_parquet PRIVATE ${SLUICE_WARNINGS})
# The DuckDB baseline runs tests/parquet/duckdb_helper.mjs, found through the source dir.
target_compile_definitions(bench_parquet PRIVATE SLUICE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_link_libraries(bench_parquet PRIVATE sluice_parquet)
