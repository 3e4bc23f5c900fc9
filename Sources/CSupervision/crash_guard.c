// The fatal-signal handler: it may only use async-signal-safe calls, so the
// image table is a fixed array filled at load time and read without locks.
#define _GNU_SOURCE
#include "kn_supervision.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define MAX_RANGES 4096
#define NAME_CAPACITY 72

struct image_range {
    uintptr_t start, end;
    char name[NAME_CAPACITY];
};

static struct image_range ranges[MAX_RANGES];
static atomic_size_t range_count;
static pthread_mutex_t adding = PTHREAD_MUTEX_INITIALIZER;
static int ledger = -1;
static char loading[NAME_CAPACITY];
static int chaining = 0;

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP };
#define FATAL_COUNT (sizeof fatal_signals / sizeof fatal_signals[0])
static struct sigaction previous[FATAL_COUNT];

struct segment_search {
    uintptr_t base;
    const char *name;
    int added;
};

static int add_segments(struct dl_phdr_info *info, size_t size, void *context) {
    (void)size;
    struct segment_search *search = context;
    if (info->dlpi_addr != search->base) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[i];
        if (header->p_type != PT_LOAD || !(header->p_flags & PF_X)) continue;
        size_t index = atomic_load_explicit(&range_count, memory_order_relaxed);
        if (index >= MAX_RANGES) return 1;
        struct image_range *range = &ranges[index];
        range->start = info->dlpi_addr + header->p_vaddr;
        range->end = range->start + header->p_memsz;
        strncpy(range->name, search->name, NAME_CAPACITY - 1);
        range->name[NAME_CAPACITY - 1] = 0;
        // Published after it is written: the handler reads up to the count.
        atomic_store_explicit(&range_count, index + 1, memory_order_release);
        search->added++;
    }
    return 1;
}

void kn_guard_loading(const char *name) {
    if (!name) { loading[0] = 0; return; }
    strncpy(loading, name, NAME_CAPACITY - 1);
    loading[NAME_CAPACITY - 1] = 0;
}

int kn_guard_add_image(void *dl_handle, const char *name) {
    struct link_map *map = NULL;
    if (!dl_handle || dlinfo(dl_handle, RTLD_DI_LINKMAP, &map) != 0 || !map) return 0;
    struct segment_search search = { map->l_addr, name, 0 };
    pthread_mutex_lock(&adding);
    dl_iterate_phdr(add_segments, &search);
    pthread_mutex_unlock(&adding);
    return search.added;
}

static const struct image_range *image_at(uintptr_t address) {
    size_t count = atomic_load_explicit(&range_count, memory_order_acquire);
    for (size_t i = count; i > 0; i--) {
        const struct image_range *range = &ranges[i - 1];
        if (address >= range->start && address < range->end) return range;
    }
    return NULL;
}

// Formatting without stdio (not async-signal-safe).
struct line { char text[512]; size_t length; };

static void put(struct line *line, const char *text) {
    while (*text && line->length < sizeof line->text - 1) line->text[line->length++] = *text++;
}

static void put_unsigned(struct line *line, unsigned long long value, unsigned base) {
    char digits[24];
    int count = 0;
    do { digits[count++] = "0123456789abcdef"[value % base]; value /= base; } while (value && count < 24);
    if (base == 16) put(line, "0x");
    while (count > 0 && line->length < sizeof line->text - 1) line->text[line->length++] = digits[--count];
}

static const char *signal_name(int signal) {
    switch (signal) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    case SIGTRAP: return "SIGTRAP";
    default: return "signal";
    }
}

static void write_all(int fd, const struct line *line) {
    size_t done = 0;
    while (done < line->length) {
        ssize_t n = write(fd, line->text + done, line->length - done);
        if (n <= 0) return;
        done += (size_t)n;
    }
}

static void on_fatal_signal(int signal, siginfo_t *info, void *context) {
    alarm(2); /* async-signal-safe: if the report hangs, SIGALRM ends the process anyway */
    uintptr_t pc = 0;
#if defined(__x86_64__)
    if (context) pc = (uintptr_t)((ucontext_t *)context)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    if (context) pc = (uintptr_t)((ucontext_t *)context)->uc_mcontext.pc;
#endif
    // The faulting instruction first; else the nearest caller inside a plugin
    // (a plugin that passed a bad pointer to libc or the kernel is the culprit).
    const struct image_range *culprit = image_at(pc);
    uintptr_t address = pc;
    if (!culprit) {
        void *frames[64];
        int count = backtrace(frames, 64);
        for (int i = 0; i < count && !culprit; i++) {
            address = (uintptr_t)frames[i];
            culprit = image_at(address - 1);
        }
        if (!culprit) address = pc;
    }
    const char *name = culprit ? culprit->name : (loading[0] ? loading : NULL);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);

    struct line record = { .length = 0 };
    put(&record, "crash ");
    put_unsigned(&record, (unsigned long long)now.tv_sec * 1000 + (unsigned long long)now.tv_nsec / 1000000, 10);
    put(&record, " ");
    put(&record, signal_name(signal));
    put(&record, " ");
    put(&record, name ? name : "-");
    put(&record, " ");
    put_unsigned(&record, pc, 16);
    put(&record, " ");
    if (culprit) {
        put(&record, culprit->name);
        put(&record, "+");
        put_unsigned(&record, address - culprit->start, 16);
    } else {
        put(&record, "-");
    }
    put(&record, "\n");
    if (ledger >= 0) write_all(ledger, &record);

    struct line message = { .length = 0 };
    put(&message, "kernel: fatal ");
    put(&message, signal_name(signal));
    if (info && (signal == SIGSEGV || signal == SIGBUS)) {
        put(&message, " (address ");
        put_unsigned(&message, (uintptr_t)info->si_addr, 16);
        put(&message, ")");
    }
    put(&message, name ? " in plugin " : " outside any plugin");
    if (name) put(&message, name);
    put(&message, " at pc ");
    put_unsigned(&message, pc, 16);
    put(&message, "\n");
    write_all(2, &message);

    for (size_t i = 0; i < FATAL_COUNT; i++) {
        if (fatal_signals[i] != signal) continue;
        if (chaining && (previous[i].sa_flags & SA_SIGINFO) && previous[i].sa_sigaction) {
            previous[i].sa_sigaction(signal, info, context);
        } else if (chaining && previous[i].sa_handler != SIG_DFL && previous[i].sa_handler != SIG_IGN) {
            previous[i].sa_handler(signal);
        }
    }
    // The handler was reset on entry (SA_RESETHAND) and the signal is blocked
    // while it runs: raised again, it kills the process as soon as it returns.
    struct sigaction fallback;
    memset(&fallback, 0, sizeof fallback);
    fallback.sa_handler = SIG_DFL;
    sigaction(signal, &fallback, NULL);
    raise(signal);
}

int kn_guard_install(int ledger_fd, int chain) {
    ledger = ledger_fd;
    chaining = chain;
    // backtrace() loads the unwinder on first use: not something to do in a handler.
    void *warm[2];
    backtrace(warm, 2);
    // The main thread's stack may be what overflowed: give the handler its own.
    static char alternate[64 * 1024];
    stack_t stack = { .ss_sp = alternate, .ss_size = sizeof alternate, .ss_flags = 0 };
    sigaltstack(&stack, NULL);
    for (size_t i = 0; i < FATAL_COUNT; i++) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_sigaction = on_fatal_signal;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
        sigemptyset(&action.sa_mask);
        if (sigaction(fatal_signals[i], &action, &previous[i]) != 0) return -1;
    }
    return 0;
}
