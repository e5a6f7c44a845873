# cmake -DPROGRAM=... -DINPUT=... -P expect_failure.cmake: passes when PROGRAM INPUT fails (non-zero exit or a
# signal), fails when it succeeds.
execute_process(COMMAND ${PROGRAM} ${INPUT} RESULT_VARIABLE result OUTPUT_QUIET ERROR_VARIABLE err)
if(result EQUAL 0)
    message(FATAL_ERROR "${PROGRAM} ${INPUT} succeeded; expected a failure\n${err}")
endif()
message(STATUS "failed as expected (${result})")
