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
set(CGRAD_DIST_TIMEOUT 600 CACHE STRING "Seconds before a distributed test counts as hung")
set(CGRAD_DIST_ENV "OMP_NUM_THREADS=1;ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1:fast_unwind_on_malloc=0;LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan_mpi.supp")
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
      ENVIRONMENT "${CGRAD_DIST_ENV}")
  endforeach()
endforeach()

# One failing rank ends the whole job with its message, never a hang.
set(CGRAD_DIST_FAIL_TIMEOUT 120)
add_executable(dist_fail tests/dist_fail.c)
target_link_libraries(dist_fail PRIVATE cgrad_static)
target_compile_options(dist_fail PRIVATE ${CGRAD_WARNINGS})
set_target_properties(dist_fail PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
foreach(np 2 3)
  math(EXPR last "${np} - 1")
  foreach(mode data checkpoint oom)
    add_test(NAME dist_fail_${mode}@np${np} COMMAND ${MPIEXEC_EXECUTABLE} ${CGRAD_MPIEXEC_FLAGS}
      ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:dist_fail> ${mode})
    set_tests_properties(dist_fail_${mode}@np${np} PROPERTIES TIMEOUT ${CGRAD_DIST_FAIL_TIMEOUT}
      ENVIRONMENT "${CGRAD_DIST_ENV}"
      PASS_REGULAR_EXPRESSION "rank ${last} of ${np}: dist_fail ${mode}: [^\n]+")
  endforeach()
endforeach()

# chargpt under mpiexec: a run stopped and resumed ends where an unbroken
# run ends (the checkpoints byte for byte); a missing data file or a corrupt
# checkpoint ends every rank with chargpt's message
if(TARGET chargpt)
  list(JOIN CGRAD_MPIEXEC_FLAGS " " CGRAD_MPIEXEC_LINE)
  add_test(NAME dist_chargpt_resume@np2 COMMAND sh ${PROJECT_SOURCE_DIR}/tests/dist_chargpt.sh resume
    "${MPIEXEC_EXECUTABLE} ${CGRAD_MPIEXEC_LINE} ${MPIEXEC_NUMPROC_FLAG} 2" $<TARGET_FILE:chargpt>)
  foreach(what missing_data bad_checkpoint)
    add_test(NAME dist_chargpt_${what}@np2 COMMAND sh ${PROJECT_SOURCE_DIR}/tests/dist_chargpt.sh ${what}
      "${MPIEXEC_EXECUTABLE} ${CGRAD_MPIEXEC_LINE} ${MPIEXEC_NUMPROC_FLAG} 2" $<TARGET_FILE:chargpt>)
  endforeach()
  set_tests_properties(dist_chargpt_resume@np2 dist_chargpt_missing_data@np2
    dist_chargpt_bad_checkpoint@np2 PROPERTIES TIMEOUT ${CGRAD_DIST_TIMEOUT} ENVIRONMENT "${CGRAD_DIST_ENV}")
endif()
