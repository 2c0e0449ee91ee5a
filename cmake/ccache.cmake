# Compiler caching with Debian's ccache, when installed (scripts/setup installs it). The cache lives
# outside the checkout (ccache's default, ~/.cache/ccache, or $CCACHE_DIR), so a fresh clone on the
# same machine reuses what an earlier build compiled: CI's build after a small change recompiles only
# what changed. base_dir makes the clone's absolute paths relative in the hash (clones in different
# folders share entries); the sloppiness lets the precompiled headers hit across clones (their
# defines and mtimes differ, their content does not). -DREBALANCE_CCACHE=OFF builds without it.
#
# Keep absolute paths of the checkout out of compile definitions that every file sees: they would
# make each clone's hash differ (tests/CMakeLists.txt sets REBALANCE_TEST_DIR on the few files that
# use it).
option(REBALANCE_CCACHE "Compile through ccache when it is installed" ON)
if(REBALANCE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(REBALANCE_CCACHE_PROGRAM ccache)
  if(REBALANCE_CCACHE_PROGRAM)
    get_filename_component(rebalance_ccache_base "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
    set(CMAKE_CXX_COMPILER_LAUNCHER
        ${CMAKE_COMMAND} -E env "CCACHE_BASEDIR=${rebalance_ccache_base}"
        "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
        "CCACHE_NOHASHDIR=1" ${REBALANCE_CCACHE_PROGRAM})
    message(STATUS "rebalance: compiling through ${REBALANCE_CCACHE_PROGRAM} (cache: ccache -s)")
  endif()
endif()
