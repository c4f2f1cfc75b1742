# The Windows build (preset "windows", toolchain cmake/mingw-w64-x86_64.cmake): backupctl.exe
# with the `backup` command only, linked statically against libcurl (Schannel) and jansson
# cross-built from Debian's source packages by scripts/windows-deps (BK_WIN_DEPS = its prefix).
# Target "dist": dist/backupctl-<version>-win64.zip.
set(BK_WIN_DEPS "$ENV{BK_WIN_DEPS}" CACHE PATH "prefix printed by scripts/windows-deps")
if(NOT EXISTS "${BK_WIN_DEPS}/.complete")
  message(FATAL_ERROR "BK_WIN_DEPS (${BK_WIN_DEPS}) is not a built prefix: run scripts/windows-deps "
                      "(or make windows)")
endif()
add_compile_definitions(BK_BACKUP_ONLY CURL_STATICLIB __USE_MINGW_ANSI_STDIO=1
                        WIN32_LEAN_AND_MEAN _WIN32_WINNT=0x0A00)

# format(printf) means ms_printf to mingw's gcc, which knows no %zu; the code's printf is
# mingw's C99 one (__USE_MINGW_ANSI_STDIO) and the formats are checked by the Linux build.
add_compile_options(-Wno-format)
# Only the backup path is linked: hycu.c's provider (monitoring) entry points are dropped.
add_compile_options(-ffunction-sections -fdata-sections)
add_link_options(-Wl,--gc-sections)
set(S ${CMAKE_SOURCE_DIR}/src)
add_executable(backupctl
  ${S}/cli/main.c ${S}/cli/cmd_backup.c ${S}/cli/backup_opts.c ${S}/cli/report.c
  ${S}/providers/hycu.c ${S}/providers/hycu_parse.c ${S}/providers/registry.c
  ${S}/providers/cove.c ${S}/providers/cove_parse.c ${S}/providers/cove_provider.c
  ${S}/http/http.c ${S}/json/jsonu.c
  ${S}/secrets/secretfile.c ${S}/core/status.c ${S}/core/model.c
  ${S}/util/xalloc.c ${S}/util/err.c ${S}/util/buf.c ${S}/util/str.c ${S}/util/log.c
  ${S}/util/timeutil.c ${S}/platform/platform_win32.c ${CMAKE_SOURCE_DIR}/cmake/backupctl.rc)
target_include_directories(backupctl PRIVATE ${BK_WIN_DEPS}/include)
# libcurl's Libs.private for Schannel, then the C runtime bits, all static: one .exe, no DLLs.
target_link_libraries(backupctl PRIVATE ${BK_WIN_DEPS}/lib/libcurl.a ${BK_WIN_DEPS}/lib/libjansson.a
  ws2_32 crypt32 bcrypt secur32 advapi32 iphlpapi shell32 pthread -static -static-libgcc)

set(BK_DIST_NAME backupctl-${PROJECT_VERSION}-win64)
set(BK_DIST_DIR ${CMAKE_BINARY_DIR}/${BK_DIST_NAME})
set(BK_DIST_ZIP ${CMAKE_SOURCE_DIR}/dist/${BK_DIST_NAME}.zip)
add_custom_target(dist
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${BK_DIST_DIR}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${BK_DIST_DIR} ${CMAKE_SOURCE_DIR}/dist
  COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:backupctl> ${BK_DIST_DIR}/backupctl.exe
  COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_SOURCE_DIR}/integrations/vtom/submit_queue_hycu.bat
          ${CMAKE_SOURCE_DIR}/integrations/vtom/VTOM_hycu_modele.xml
          ${CMAKE_SOURCE_DIR}/packaging/windows/README.txt ${BK_DIST_DIR}/
  COMMAND ${CMAKE_COMMAND} -E copy ${BK_WIN_DEPS}/VERSIONS ${BK_DIST_DIR}/THIRD-PARTY-VERSIONS.txt
  COMMAND ${CMAKE_COMMAND} -E copy_directory ${BK_WIN_DEPS}/licenses ${BK_DIST_DIR}/licenses
  COMMAND ${CMAKE_COMMAND} -E rm -f ${BK_DIST_ZIP}
  COMMAND ${CMAKE_COMMAND} -E chdir ${CMAKE_BINARY_DIR}
          ${CMAKE_COMMAND} -E tar cf ${BK_DIST_ZIP} --format=zip ${BK_DIST_NAME}
  COMMAND ${CMAKE_COMMAND} -E echo "${BK_DIST_ZIP}"
  DEPENDS backupctl
  VERBATIM)
