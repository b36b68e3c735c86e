/*
 * fngraph-launch: the first program of a sandbox launch (src/sandbox/launcher.ts).
 *
 * Started as root by the platform, it does what the shell chain `sh -c 'ulimit -n N && echo $$ >
 * …/cgroup.procs && exec "$@"'` → `nsenter --net=…` → `setpriv --reuid … --clear-groups
 * --inh-caps=-all` did, in one process, then execs bwrap:
 *
 *   --procs FILE     join a cgroup: write this process's pid to FILE (repeatable); the runtime is
 *                    charged from its first page
 *   --nofile N       RLIMIT_NOFILE soft and hard
 *   --data BYTES     RLIMIT_DATA soft and hard (tier B, which has no memory cgroup)
 *   --close-from FD  close every fd from FD up (fds the platform inherited without O_CLOEXEC)
 *   --netns PATH     enter that network namespace
 *   --uid U --gid G  drop to these ids: no supplementary groups, no capabilities left
 *   -- PROGRAM ARGS  exec PROGRAM (absolute path) with ARGS and this process's environment
 *
 * Steps run in that order whatever the order of the options. Any failure prints
 * "fngraph-launch: <step>: <reason>" and exits 127, before PROGRAM could start.
 * `fngraph-launch --check` prints "ok" and exits 0: the platform's test that the build works.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_PROCS 8

static void die(const char *step, const char *what) {
  fprintf(stderr, "fngraph-launch: %s: %s\n", step, what);
  _exit(127);
}

static void die_errno(const char *step) { die(step, strerror(errno)); }

static unsigned long long number(const char *opt, const char *s) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-') die(opt, "not a number");
  return v;
}

static void set_limit(int resource, unsigned long long value, const char *step) {
  struct rlimit r = {.rlim_cur = value, .rlim_max = value};
  if (setrlimit(resource, &r) != 0) die_errno(step);
}

static void join_cgroup(const char *file) {
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die_errno("cgroup");
  if (write(fd, pid, (size_t)n) != n) die_errno("cgroup");
  if (close(fd) != 0) die_errno("cgroup");
}

static void close_from(int lowest) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0) return;
#endif
  /* Kernels before 5.9: every fd /proc lists from `lowest` up. */
  DIR *d = opendir("/proc/self/fd");
  if (!d) die_errno("close");
  int own = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd >= lowest && fd != own) close(fd);
  }
  closedir(d);
}

static void enter_netns(const char *file) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die_errno("netns");
  if (setns(fd, CLONE_NEWNET) != 0) die_errno("netns");
  close(fd);
}

static void drop_ids(unsigned long long uid, unsigned long long gid) {
  if (uid == 0 || gid == 0) die("ids", "refusing to run as root");
  /* No inheritable or ambient capabilities survive into the programs after this one. */
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct c[2];
  if (syscall(SYS_capget, &h, c) != 0) die_errno("capabilities");
  c[0].inheritable = 0;
  c[1].inheritable = 0;
  if (syscall(SYS_capset, &h, c) != 0) die_errno("capabilities");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    die_errno("capabilities");
  if (setgroups(0, NULL) != 0) die_errno("setgroups");
  if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0) die_errno("setresgid");
  if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) die_errno("setresuid");
  /* Root's ids must be out of reach for good. */
  if (setresuid(0, 0, 0) == 0) die("ids", "could switch back to root");
}

int main(int argc, char **argv) {
  const char *procs[MAX_PROCS];
  int nprocs = 0;
  long long nofile = -1, data = -1, closefrom = -1, uid = -1, gid = -1;
  const char *netns = NULL;
  int i = 1;
  if (argc == 2 && strcmp(argv[1], "--check") == 0) {
    puts("ok");
    return 0;
  }
  for (; i < argc; i++) {
    const char *o = argv[i];
    if (strcmp(o, "--") == 0) {
      i++;
      break;
    }
    if (i + 1 >= argc) die(o, "needs a value");
    const char *v = argv[++i];
    if (strcmp(o, "--procs") == 0) {
      if (nprocs == MAX_PROCS) die(o, "too many");
      procs[nprocs++] = v;
    } else if (strcmp(o, "--nofile") == 0) {
      nofile = (long long)number(o, v);
    } else if (strcmp(o, "--data") == 0) {
      data = (long long)number(o, v);
    } else if (strcmp(o, "--close-from") == 0) {
      closefrom = (long long)number(o, v);
      if (closefrom < 3) die(o, "must be 3 or more");
    } else if (strcmp(o, "--netns") == 0) {
      netns = v;
    } else if (strcmp(o, "--uid") == 0) {
      uid = (long long)number(o, v);
    } else if (strcmp(o, "--gid") == 0) {
      gid = (long long)number(o, v);
    } else {
      die(o, "unknown option");
    }
  }
  if (i >= argc || argv[i][0] != '/') die("program", "an absolute path must follow --");
  if ((uid < 0) != (gid < 0)) die("ids", "--uid and --gid go together");

  for (int p = 0; p < nprocs; p++) join_cgroup(procs[p]);
  if (nofile >= 0) set_limit(RLIMIT_NOFILE, (unsigned long long)nofile, "nofile");
  if (data >= 0) set_limit(RLIMIT_DATA, (unsigned long long)data, "data");
  if (closefrom >= 0) close_from((int)closefrom);
  if (netns) enter_netns(netns);
  if (uid >= 0) drop_ids((unsigned long long)uid, (unsigned long long)gid);
  execv(argv[i], argv + i);
  die_errno("exec");
  return 127;
}
