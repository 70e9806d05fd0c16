// The C half of CLinux: code that is C by nature (a signal handler must be async-signal-safe, which Swift
// code cannot promise), compiled once here rather than inlined into every Swift file that imports the header.
#include "CLinux.h"

/// The crash handler's whole output: one line, built from constants and the signal number only, so that no
/// memory contents (which may hold credentials) are ever printed. Async-signal-safe: write(2), sigaction and
/// raise only.
static void crash_handler(int signo) {
    static const char head[] = "contenox: crashed with signal ";
    static const char tail[] =
        "; nothing else is printed (memory may hold credentials). For a backtrace, run it again with "
        "SWIFT_BACKTRACE=enable=yes,registers=none set, and report what led to it.\n";
    char digits[4];
    int start = sizeof digits;  // filled from the end
    int value = signo;
    do {
        digits[--start] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0 && start > 0);
    ssize_t ignored = write(2, head, sizeof head - 1);
    ignored = write(2, digits + start, sizeof digits - (size_t)start);
    ignored = write(2, tail, sizeof tail - 1);
    (void)ignored;
    // SA_RESETHAND made the action the default again: a fault re-executes and ends the process with its
    // usual status (and core, if the system keeps cores); a signal sent by kill(2) is raised once more.
    raise(signo);
}

/// Replaces the handlers of the signals a crash raises with `crash_handler`, on an alternate stack
/// so that a stack overflow is reported too. Returns 0, or -1 if a sigaction call failed.
int CLinux_install_crash_handler(void) {
    stack_t current;
    if (sigaltstack(NULL, &current) == 0 && (current.ss_flags & SS_DISABLE)) {
        stack_t alternate;
        alternate.ss_size = 64 * 1024;
        alternate.ss_sp = malloc(alternate.ss_size);  // for the life of the process
        alternate.ss_flags = 0;
        if (alternate.ss_sp) sigaltstack(&alternate, NULL);
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = crash_handler;
    action.sa_flags = SA_RESETHAND | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    static const int signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGQUIT};
    int status = 0;
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        if (sigaction(signals[i], &action, NULL) != 0) status = -1;
    }
    return status;
}

