# The distributed tests (tests/test_dist*.c), each run by mpiexec at 2 and 3
# processes. Open MPI is told to run as root if need be, to oversubscribe
# the cores and to keep to the loopback interface; TIMEOUT turns a hang
# into a failure.
execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE CGRAD_MPIEXEC_VERSION
  ERROR_QUIET)
set(CGRAD_MPIEXEC_FLAGS "")
if(CGRAD_MPIEXEC_VERSION MATCHES "Open MPI|OpenRTE")
  set(CGRAD_MPIEXEC_FLAGS --allow-run-as-root --oversubscribe --mca btl self,vader,tcp
    --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)
endif()
set(CGRAD_DIST_TIMEOUT 240 CACHE STRING "Seconds before a distributed test counts as hung")
file(GLOB CGRAD_DIST_TESTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/test_dist*.c)
foreach(src ${CGRAD_DIST_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE cgrad_testmain)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_compile_options(${name} PRIVATE ${CGRAD_WARNINGS})
  target_compile_definitions(${name} PRIVATE CG_PYTHON="${CGRAD_PYTHON}"
    CG_SOURCE_DIR="${PROJECT_SOURCE_DIR}" CG_MPIEXEC="${MPIEXEC_EXECUTABLE}"
    CG_BINARY_DIR="${PROJECT_BINARY_DIR}")
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  foreach(np 2 3)
    add_test(NAME ${name}@np${np} COMMAND ${MPIEXEC_EXECUTABLE} ${CGRAD_MPIEXEC_FLAGS}
      ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:${name}> WORKING_DIRECTORY ${PROJECT_BINARY_DIR})
    set_tests_properties(${name}@np${np} PROPERTIES TIMEOUT ${CGRAD_DIST_TIMEOUT}
      ENVIRONMENT "OMP_NUM_THREADS=1;LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan_mpi.supp")
  endforeach()
endforeach()
