# Finds the Debian packages the build uses. CAF 0.17.6 ships no CMake package on Debian,
# so its headers and libraries are found by hand.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io REQUIRED)
add_library(caf::core UNKNOWN IMPORTED)
set_target_properties(caf::core PROPERTIES IMPORTED_LOCATION ${CAF_CORE_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR}
  INTERFACE_LINK_LIBRARIES Threads::Threads)
add_library(caf::io UNKNOWN IMPORTED)
set_target_properties(caf::io PROPERTIES IMPORTED_LOCATION ${CAF_IO_LIBRARY}
  INTERFACE_LINK_LIBRARIES caf::core)

find_package(FlatBuffers CONFIG REQUIRED)
find_program(FLATC flatc REQUIRED)

pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET lmdb)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)

find_package(Boost 1.74 REQUIRED COMPONENTS unit_test_framework)

# Compiles FlatBuffers schemas with flatc at build time; headers land in the build tree.
# FLAGS adds flatc options (--gen-object-api for FlatBufferCodec state types).
function(sluice_flatbuffers_generate target)
  cmake_parse_arguments(ARG "" "" "FLAGS" ${ARGN})
  set(outputs)
  foreach(schema ${ARG_UNPARSED_ARGUMENTS})
    get_filename_component(name ${schema} NAME_WE)
    set(output ${CMAKE_CURRENT_BINARY_DIR}/generated/${name}_generated.h)
    add_custom_command(OUTPUT ${output}
      COMMAND ${FLATC} --cpp --scoped-enums ${ARG_FLAGS} -o ${CMAKE_CURRENT_BINARY_DIR}/generated
              ${CMAKE_CURRENT_SOURCE_DIR}/${schema}
      DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${schema}
      COMMENT "flatc ${schema}")
    list(APPEND outputs ${output})
  endforeach()
  add_custom_target(${target} DEPENDS ${outputs})
endfunction()
