#ifndef CLINUX_H
#define CLINUX_H
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

// Swift's Glibc module is built without _GNU_SOURCE, so it hides glibc's GNU extensions; and prctl is
// variadic, which Swift cannot call. One wrapper for each call Basics needs.

/// glibc 2.34+; declared in <spawn.h> only under _GNU_SOURCE.
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

/// Makes the child close every descriptor from `from` up, as Foundation's Process did.
static inline int CLinux_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

/// Names the calling thread (what `top -H` and debuggers show); the kernel keeps the first 15 bytes.
static inline int CLinux_set_thread_name(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0UL, 0UL, 0UL);
}

/// Replaces the handlers of the signals a crash raises with one that prints a single line (the signal, and
/// nothing from memory, which may hold credentials), on an alternate stack so that a stack overflow is
/// reported too. Returns 0, or -1 if a sigaction call failed.
int CLinux_install_crash_handler(void);

#endif
