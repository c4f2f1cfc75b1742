@echo off
rem submit_queue_hycu.bat - Visual TOM queue batch submitter for HYCU backups (queue "queue_hycu").
rem
rem Windows transcription, line by line, of tom_submit.hycu (the POSIX sh submitter): same
rem fields, same checks, same messages, same tsend calls, same exit codes. Keep both in step.
rem Install as %ABM_BIN%\submit_queue_hycu.bat (see README.md). No UTF-8 BOM, CRLF endings.
rem
rem Positional fields, in the order of the application model VTOM_hycu_modele.xml; any of
rem them may be empty (""), and names may contain spaces (VTOM passes them quoted):
rem   %1 backup-name     (required) VM, application, share, volume group or policy name
rem   %2 url             HYCU controller, e.g. https://hycu.example:8443 (else %HYCU_URL%)
rem   %3 auth-token      API key; handed over in the environment (HYCU_AUTH_TOKEN), never argv
rem   %4 auth-file       JSON {"token": ...} readable by its owner only
rem   %5 check-interval  seconds between status polls (backupctl default 30)
rem   %6 timeout         seconds before giving up, exit 3 (backupctl default 3600)
rem   %7 backup-config   JSON file (type full/incremental, target, notifications.webhook)
rem   %8 no-monitor      yes/no: trigger only, do not wait for the end of the backup
rem   %9 verbose         yes/no: debug log on stderr (secrets redacted)
rem yes/no fields accept yes/no/true/false/1/0/on/off in any case; empty means no.
rem A value must not end with a backslash (\" would escape the closing quote for backupctl).
rem A value must not contain a double quote (cmd cannot carry one through %~1).
rem
rem Exit code (also reported with tsend -r): the backupctl code, see :RC_MEANING below.
rem rc 0 -> tsend -sT (finished, acknowledged); anything else -> tsend -sE (error).

setlocal EnableExtensions DisableDelayedExpansion

rem --- Visual TOM environment -------------------------------------------------------------
rem (the sh submitter sources $TOM_ADMIN/vtom_init.ksh; on Windows: West European code page)
chcp 1252 > nul

rem --- context banner ------------------------------------------------------------------------
rem (the agent's banner script, found on PATH; without the fields: one of them is the token.
rem Not `where`, whose exit status is not reliable on every cmd, e.g. wine's)
for %%F in (submit_aff.bat) do if not "%%~$PATH:F"=="" call "%%~$PATH:F"
echo _______________________________________________________________________
date /T
echo %time:~0,8%
if not defined TOM_JOB_EXEC set "TOM_JOB_EXEC_SHOWN=NORMAL"
if defined TOM_JOB_EXEC set "TOM_JOB_EXEC_SHOWN=%TOM_JOB_EXEC%"
echo Job: %TOM_ENVIRONMENT%/%TOM_APPLICATION%/%TOM_JOB% (id %TOM_JOB_ID%, mode %TOM_JOB_EXEC_SHOWN%)
echo Begin of the script...
echo _______________________________________________________________________

rem The original sh tested [ -n ${TOM_JOB_ID:-0} ], which is always true: warn for real.
if not defined TOM_JOB_ID echo WARNING: TOM_JOB_ID is empty: this job was not submitted by a Visual TOM engine 1>&2

rem --- TEST mode: run nothing, report the job finished -----------------------------------------
if "%TOM_JOB_EXEC%"=="TEST" goto TEST_MODE

rem --- fields -> backupctl arguments -------------------------------------------------------------
set "F_NAME=%~1"
set "F_URL=%~2"
set "F_TOKEN=%~3"
set "F_AUTH_FILE=%~4"
set "F_INTERVAL=%~5"
set "F_TIMEOUT=%~6"
set "F_CONFIG=%~7"
set "F_NO_MONITOR=%~8"
set "F_VERBOSE=%~9"

shift /8
if not "%~9"=="" echo WARNING: more than 9 parameters received, only the first 9 are used 1>&2
if not defined F_NAME goto BAD_NAME
call :YES_NO NO_MONITOR F_NO_MONITOR
if errorlevel 1 goto BAD_NO_MONITOR
call :YES_NO VERBOSE F_VERBOSE
if errorlevel 1 goto BAD_VERBOSE

rem The token goes through the environment: a command line is visible to other users.
if defined F_TOKEN set "HYCU_AUTH_TOKEN=%F_TOKEN%"
set "F_TOKEN="

set "BK=%BACKUPCTL%"
if not defined BK set "BK=backupctl"
if exist "%BK%" goto BK_FOUND
rem A bare name is looked up on PATH, with the usual extensions.
for %%F in ("%BK%" "%BK%.exe" "%BK%.cmd" "%BK%.bat") do if not "%%~$PATH:F"=="" set "BK=%%~$PATH:F" & goto BK_FOUND
echo ERROR: %BK% not found (set BACKUPCTL or PATH) 1>&2
set "RC=127"
goto TOM_END
:BK_FOUND

rem Build the argument list: every value stays one quoted argument, empty optional fields
rem are left out instead of shifting the others. Delayed expansion from here on, so that
rem & | < > ^ in a value are never parsed as commands.
setlocal EnableDelayedExpansion
set ARGS=backup --backup-name "!F_NAME!"
if defined F_URL set ARGS=!ARGS! --url "!F_URL!"
if defined F_AUTH_FILE set ARGS=!ARGS! --auth-file "!F_AUTH_FILE!"
if defined F_INTERVAL set ARGS=!ARGS! --check-interval "!F_INTERVAL!"
if defined F_TIMEOUT set ARGS=!ARGS! --timeout "!F_TIMEOUT!"
if defined F_CONFIG set ARGS=!ARGS! --backup-config "!F_CONFIG!"
if "!NO_MONITOR!"=="yes" set ARGS=!ARGS! --no-monitor
if "!VERBOSE!"=="yes" set ARGS=!ARGS! --verbose

echo Running: !BK! !ARGS!

rem (the sh submitter runs backupctl in the background to pass a stop signal on; on Windows
rem the agent ends the process tree, backupctl handles Ctrl+C/Ctrl+Break itself)
"!BK!" !ARGS!
set "RC=!ERRORLEVEL!"
rem 9009 is cmd's "not recognized as a command": report it like sh's 127.
if "!RC!"=="9009" set "RC=127"

call :RC_MEANING %RC%
echo _______________________________________________________________________
date /T
echo %time:~0,8%
echo End of the script.
echo backupctl exit code: %RC% (%RC_TEXT%)
echo _______________________________________________________________________
goto TOM_END

rem =========================================================================================
:TEST_MODE
echo TEST mode: backupctl is not run
call :TOM_TSEND -sT -r0 -m"Job finished (TEST mode)"
call :TOM_VTGESTLOG
exit 0

rem Invalid fields: configuration error (kept out of ( ) blocks and shown with
rem delayed expansion: a value may hold a parenthesis or an ampersand).
:BAD_NAME
echo ERROR: field 1 (backup-name) is empty 1>&2
set "RC=1"
goto TOM_END
:BAD_NO_MONITOR
setlocal EnableDelayedExpansion
echo ERROR: field 8 (no-monitor) must be yes or no (yes/no/true/false/1/0/on/off), got '!F_NO_MONITOR!' 1>&2
endlocal
set "RC=1"
goto TOM_END
:BAD_VERBOSE
setlocal EnableDelayedExpansion
echo ERROR: field 9 (verbose) must be yes or no (yes/no/true/false/1/0/on/off), got '!F_VERBOSE!' 1>&2
endlocal
set "RC=1"
goto TOM_END

rem tom_end: report RC to Visual TOM, manage the logs, exit RC.
:TOM_END
set "STAT_FIN_JOB=%RC%"
if "%STAT_FIN_JOB%"=="0" goto TOM_END_OK
echo --^> Exit [%STAT_FIN_JOB%] then no acknowledgment
call :RC_MEANING %STAT_FIN_JOB%
call :TOM_TSEND -sE -r%STAT_FIN_JOB% -m"Job in error (%STAT_FIN_JOB%: %RC_TEXT%)"
goto TOM_END_LOGS
:TOM_END_OK
echo --^> Exit [%STAT_FIN_JOB%] then acknowledgment
call :TOM_TSEND -sT -r%STAT_FIN_JOB% -m"Job finished (%STAT_FIN_JOB%)"
:TOM_END_LOGS
call :TOM_VTGESTLOG
call :TOM_GESTLOG
exit %STAT_FIN_JOB%

rem Meaning of a backupctl exit code (DESIGN.md section 3) -> RC_TEXT.
:RC_MEANING
set "RC_TEXT=unexpected exit code"
if "%~1"=="0" set "RC_TEXT=success"
if "%~1"=="1" set "RC_TEXT=configuration error"
if "%~1"=="2" set "RC_TEXT=monitoring error"
if "%~1"=="3" set "RC_TEXT=timeout"
if "%~1"=="4" set "RC_TEXT=backup failed"
if "%~1"=="5" set "RC_TEXT=backup cancelled"
if "%~1"=="6" set "RC_TEXT=unknown status"
if "%~1"=="7" set "RC_TEXT=interrupted"
if "%~1"=="8" set "RC_TEXT=unexpected error"
if "%~1"=="126" set "RC_TEXT=backupctl is not executable"
if "%~1"=="127" set "RC_TEXT=backupctl not found"
exit /b 0

rem tsend / vtgestlog / Gestlog_wnt of the agent; a missing one is reported, not fatal.
:TOM_TSEND
if not defined ABM_BIN goto TOM_TSEND_MISSING
rem (call: a tsend.bat/.cmd returns here too)
if exist "%ABM_BIN%\tsend.exe" goto TOM_TSEND_RUN
if exist "%ABM_BIN%\tsend.bat" goto TOM_TSEND_RUN
if exist "%ABM_BIN%\tsend.cmd" goto TOM_TSEND_RUN
goto TOM_TSEND_MISSING
:TOM_TSEND_RUN
call "%ABM_BIN%\tsend" %*
exit /b 0
:TOM_TSEND_MISSING
echo WARNING: %%ABM_BIN%%\tsend not found (ABM_BIN=%ABM_BIN%): status not sent: %* 1>&2
exit /b 0

:TOM_VTGESTLOG
if not defined ABM_BIN exit /b 0
if not exist "%ABM_BIN%\vtgestlog.exe" if not exist "%ABM_BIN%\vtgestlog" exit /b 0
"%ABM_BIN%\vtgestlog"
exit /b 0

:TOM_GESTLOG
if "%TOM_LOG_ACTION%"=="   " exit /b 0
for %%F in (Gestlog_wnt.bat) do if not "%%~$PATH:F"=="" call "%%~$PATH:F"
exit /b 0

rem yes_no RESULT_VAR FIELD_VAR: RESULT_VAR=yes or no; errorlevel 1 for an invalid value.
:YES_NO
set "%~1="
call set "YN_VAL=%%%~2%%"
if not defined YN_VAL set "%~1=no"
for %%v in (yes true 1 on) do if /i "%YN_VAL%"=="%%v" set "%~1=yes"
for %%v in (no false 0 off) do if /i "%YN_VAL%"=="%%v" set "%~1=no"
if not defined %~1 exit /b 1
exit /b 0
