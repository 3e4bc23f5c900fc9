/* The parts of supervision that must be C: a fatal-signal handler that is
 * async-signal-safe, and passing descriptors over a Unix socket. */
#ifndef KN_SUPERVISION_H
#define KN_SUPERVISION_H

#include <stddef.h>
#include <stdint.h>

/* Records the executable segments of a dlopen'ed image under `name`, so a
 * fault in them (or in code they called) is attributed to it. Newer
 * registrations win where ranges overlap. Returns the ranges added. */
int kn_guard_add_image(void *dl_handle, const char *name);

/* Names the file being opened (NULL when done): a fault outside every
 * recorded image meanwhile (its constructors run inside dlopen) is its. */
void kn_guard_loading(const char *name);

/* Installs the handler for SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT and
 * SIGTRAP. On a fatal signal it appends one line to `ledger_fd`:
 *     crash <unix ms> <signal> <plugin or -> <pc hex> <image+offset or ->
 * writes a readable line to stderr, then dies of the signal (or, with
 * `chain`, hands it to the handler that was installed before). */
int kn_guard_install(int ledger_fd, int chain);

/* Sends `payload` and, when fd >= 0, the descriptor with it (SCM_RIGHTS). */
long kn_send_with_fd(int socket_fd, const void *payload, size_t length, int fd);

/* Receives one message into `buffer`; *fd is the descriptor it carried, or -1.
 * Returns the payload length, 0 at end of stream, -1 on error. */
long kn_receive_with_fd(int socket_fd, void *buffer, size_t capacity, int *fd);

/* Asks for `signal` when the parent process dies (PR_SET_PDEATHSIG). */
int kn_die_with_parent(int signal);

#endif
