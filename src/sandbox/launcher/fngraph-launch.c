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
 *
 * `fngraph-launch --serve` is the platform's long-lived spawner (src/sandbox/spawner.ts): a
 * fork of this small process instead of one of the platform (whose fork copies the page tables
 * of its ~150 MB: ~4-9 ms of its event loop per launch). It reads requests as JSON lines on fd 3,
 * the node IPC channel it was started with:
 *   {"id":N,"a":"<base64: launcher options, --, program argv; NUL-separated>","s":"<base64
 *    seccomp file, may be empty>"}   fork; the child gets socketpairs on fds 1, 2 and 3, the
 *                                    seccomp file on fd 4, /dev/null on 0, an empty environment,
 *                                    and then does what a launch by argv does
 *   {"k":N,"g":SIGNAL}               kill launch N's process, if it has not been reaped
 * and answers on fd 3: each launch's three socket ends as node IPC handles (NODE_HANDLE
 * messages of type net.Native with {"l":N,"w":1|2|3,"p":PID}, one at a time, each after node's
 * NODE_HANDLE_ACK of the one before), then {"x":N,"c":CODE} or {"x":N,"g":SIGNAL} when it
 * exits, or {"x":N,"e":"<reason>"} when it could not be started. EOF on fd 3: it exits, and the
 * sandboxes (bwrap --die-with-parent) with it.
 *
 * `fngraph-launch --mkvol TEMPLATE IMAGE MOUNTPOINT` makes a sandbox /tmp volume
 * (src/sandbox/tmp-volume.ts) in one process, where the shell script did it with five programs
 * (sh, mkfs.ext4, flock, losetup, mount: ~45 ms a volume on a slow VM, ~15 ms this way): IMAGE
 * (new, sparse, TEMPLATE's size) gets the data of TEMPLATE (an image mkfs made once), it is
 * attached to a free loop device with direct I/O (where the backing file system offers it) and
 * auto-clear (the device detaches itself when the volume is unmounted), and mounted ext4 at
 * MOUNTPOINT. Another process that takes the same free device makes LOOP_CONFIGURE fail with
 * EBUSY: the next free one is tried (losetup instead slept 200 ms, hence the script's lock).
 * Prints the device; on failure prints "fngraph-launch: mkvol: <step>: <reason>", leaves no
 * device attached and exits 127.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/loop.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

static int launch(int argc, char **argv) {
  const char *procs[MAX_PROCS];
  int nprocs = 0;
  long long nofile = -1, data = -1, closefrom = -1, uid = -1, gid = -1;
  const char *netns = NULL;
  int i = 1;
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

/* ---- --mkvol ---------------------------------------------------------------------------- */

static int mkvol(const char *template, const char *image, const char *mountpoint) {
  int t = open(template, O_RDONLY | O_CLOEXEC);
  if (t < 0) die_errno("mkvol: template");
  off_t size = lseek(t, 0, SEEK_END);
  if (size <= 0) die("mkvol: template", "empty");
  int img = open(image, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (img < 0) die_errno("mkvol: image");
  if (ftruncate(img, size) != 0) die_errno("mkvol: image");
  /* Only the template's data: the rest of the image stays a hole, as after mkfs. */
  for (off_t pos = 0;;) {
    off_t data = lseek(t, pos, SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;
    if (data < 0) die_errno("mkvol: template");
    off_t hole = lseek(t, data, SEEK_HOLE);
    if (hole < 0) die_errno("mkvol: template");
    off_t in = data, out = data;
    while (in < hole) {
      ssize_t n = copy_file_range(t, &in, img, &out, (size_t)(hole - in), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP)) {
        /* No copy_file_range between these files: through a buffer. */
        char buf[65536];
        size_t want = (size_t)(hole - in) < sizeof buf ? (size_t)(hole - in) : sizeof buf;
        n = pread(t, buf, want, in);
        if (n > 0 && pwrite(img, buf, (size_t)n, out) != n) die_errno("mkvol: copy");
        if (n > 0) {
          in += n;
          out += n;
        }
      }
      if (n < 0) die_errno("mkvol: copy");
      if (n == 0) die("mkvol: copy", "the template is shorter than it was");
    }
    pos = hole;
  }
  close(t);
  int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl < 0) die_errno("mkvol: loop-control");
  char dev[64];
  int fd = -1;
  unsigned flags = LO_FLAGS_DIRECT_IO | LO_FLAGS_AUTOCLEAR;
  for (int tries = 0; fd < 0; tries++) {
    if (tries == 64) die("mkvol: loop", "every free device was taken by another process");
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    if (n < 0) die_errno("mkvol: loop");
    snprintf(dev, sizeof dev, "/dev/loop%d", n);
    fd = open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) die_errno("mkvol: loop");
    struct loop_config c;
    memset(&c, 0, sizeof c);
    c.fd = (unsigned)img;
    c.info.lo_flags = flags;
    if (ioctl(fd, LOOP_CONFIGURE, &c) == 0) break;
    int e = errno;
    close(fd);
    fd = -1;
    /* No direct I/O on this backing file system (tmpfs before 6.6): the same device without. */
    if (e == EINVAL && (flags & LO_FLAGS_DIRECT_IO)) {
      flags &= ~(unsigned)LO_FLAGS_DIRECT_IO;
      continue;
    }
    if (e != EBUSY) {
      errno = e;
      die_errno("mkvol: loop");
    }
  }
  close(img);
  close(ctl);
  /* On failure the exit closes the device's last fd, and auto-clear detaches it. */
  if (mount(dev, mountpoint, "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME, "noinit_itable") != 0)
    die_errno("mkvol: mount");
  printf("%s\n", dev);
  return 0;
}

/* ---- --serve ---------------------------------------------------------------------------- */

#define CH 3
#define MAX_KIDS 4096

static struct {
  long id;
  pid_t pid;
} kids[MAX_KIDS];
static int nkids;

static char *inbuf;
static size_t inlen, incap;

static void write_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(CH, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(0); /* the platform is gone */
    p += w;
    n -= (size_t)w;
  }
}

/* Read more of fd 3 into inbuf (blocking); EOF or an error ends the spawner. */
static void read_more(void) {
  if (incap - inlen < 65536) {
    incap = incap * 2 + 65536;
    inbuf = realloc(inbuf, incap);
    if (!inbuf) _exit(1);
  }
  ssize_t r;
  do r = read(CH, inbuf + inlen, incap - inlen - 1);
  while (r < 0 && errno == EINTR);
  if (r <= 0) _exit(0);
  inlen += (size_t)r;
}

/* Take the first complete line that contains `want` (or any line, want == NULL) out of inbuf
   into `out` (malloc'd, NUL-terminated); 0 when there is none yet. */
static int take_line(const char *want, char **out) {
  size_t start = 0;
  for (size_t i = 0; i < inlen; i++) {
    if (inbuf[i] != '\n') continue;
    size_t n = i - start;
    char *line = malloc(n + 1);
    if (!line) _exit(1);
    memcpy(line, inbuf + start, n);
    line[n] = '\0';
    if (!want || strstr(line, want)) {
      memmove(inbuf + start, inbuf + i + 1, inlen - i - 1);
      inlen -= i + 1 - start;
      *out = line;
      return 1;
    }
    free(line);
    start = i + 1;
  }
  return 0;
}

static long json_num(const char *line, const char *key) {
  const char *p = strstr(line, key);
  return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static int b64v(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* The base64 string after `key` decoded into a malloc'd buffer; its length in *len. */
static char *json_b64(const char *line, const char *key, size_t *len) {
  const char *p = strstr(line, key);
  *len = 0;
  if (!p) return NULL;
  p += strlen(key);
  char *out = malloc(strlen(p) + 1);
  if (!out) _exit(1);
  unsigned acc = 0;
  int bits = 0;
  for (; *p && *p != '"'; p++) {
    int v = b64v(*p);
    if (v < 0) continue; /* padding */
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[(*len)++] = (char)((acc >> bits) & 0xff);
    }
  }
  out[*len] = '\0';
  return out;
}

static void send_handle(long id, int which, pid_t pid, int fd) {
  char msg[160];
  int n = snprintf(msg, sizeof msg,
                   "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Native\",\"msg\":{\"l\":%ld,\"w\":%d,"
                   "\"p\":%d}}\n",
                   id, which, (int)pid);
  for (int tries = 0; tries < 3; tries++) {
    struct iovec iov = {.iov_base = msg, .iov_len = (size_t)n};
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                       .msg_controllen = sizeof cbuf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t w;
    do w = sendmsg(CH, &m, 0);
    while (w < 0 && errno == EINTR);
    if (w != n) _exit(0);
    /* node answers every handle before it takes the next one */
    char *line;
    while (!take_line("NODE_HANDLE_", &line)) read_more();
    int ack = strstr(line, "NODE_HANDLE_ACK") != NULL;
    free(line);
    if (ack) return;
  }
}

static void report(const char *fmt, long id, long v) {
  char msg[96];
  int n = snprintf(msg, sizeof msg, fmt, id, v);
  write_all(msg, (size_t)n);
}

static void fail(long id, const char *what) {
  char msg[160];
  int n = snprintf(msg, sizeof msg, "{\"x\":%ld,\"e\":\"%s: %s\"}\n", id, what, strerror(errno));
  write_all(msg, (size_t)n);
}

/* Move fd above 9 (out of the way of 0-4), not close-on-exec. */
static int high(int fd) {
  int h = fcntl(fd, F_DUPFD, 10);
  if (h < 0) die_errno("fds");
  return h;
}

static void start(const char *line) {
  long id = json_num(line, "\"id\":");
  size_t alen, slen;
  char *a = json_b64(line, "\"a\":\"", &alen);
  char *s = json_b64(line, "\"s\":\"", &slen);
  char *argv[1024];
  int argc = 0;
  argv[argc++] = "fngraph-launch";
  for (size_t i = 0; a && i < alen && argc < 1023; i += strlen(a + i) + 1) argv[argc++] = a + i;
  argv[argc] = NULL;
  int sp[3][2];
  int made = 0;
  for (; made < 3; made++) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp[made]) != 0) break;
  }
  pid_t pid = -1;
  if (made == 3 && nkids < MAX_KIDS) pid = fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int ends[3];
    for (int k = 0; k < 3; k++) ends[k] = high(sp[k][1]);
    int seccomp = slen > 0 ? open(s, O_RDONLY | O_CLOEXEC) : -1;
    if (slen > 0 && seccomp < 0) die_errno("seccomp");
    if (seccomp >= 0) seccomp = high(seccomp);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0) die_errno("stdin");
    for (int k = 0; k < 3; k++)
      if (dup2(ends[k], k + 1) < 0) die_errno("fds");
    if (seccomp >= 0 && dup2(seccomp, 4) < 0) die_errno("seccomp");
    clearenv();
    launch(argc, argv);
    _exit(127);
  }
  for (int k = 0; k < made; k++) close(sp[k][1]);
  if (pid > 0) {
    kids[nkids].id = id;
    kids[nkids++].pid = pid;
    for (int k = 0; k < 3; k++) send_handle(id, k + 1, pid, sp[k][0]);
  } else {
    fail(id, made < 3 ? "socketpair" : "fork");
  }
  for (int k = 0; k < made; k++) close(sp[k][0]);
  free(a);
  free(s);
}

static void reap(void) {
  int st;
  pid_t pid;
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    for (int k = 0; k < nkids; k++) {
      if (kids[k].pid != pid) continue;
      if (WIFSIGNALED(st)) report("{\"x\":%ld,\"g\":%ld}\n", kids[k].id, WTERMSIG(st));
      else report("{\"x\":%ld,\"c\":%ld}\n", kids[k].id, WEXITSTATUS(st));
      kids[k] = kids[--nkids];
      break;
    }
  }
}

static int serve(void) {
  int fl = fcntl(CH, F_GETFL);
  if (fl < 0 || fcntl(CH, F_SETFL, fl & ~O_NONBLOCK) != 0) die_errno("serve");
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die_errno("signalfd");
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (;;) {
    char *line;
    while (take_line(NULL, &line)) {
      if (strstr(line, "\"id\":")) {
        start(line);
      } else if (strstr(line, "\"k\":")) {
        long id = json_num(line, "\"k\":"), sig = json_num(line, "\"g\":");
        for (int k = 0; k < nkids; k++)
          if (kids[k].id == id) kill(kids[k].pid, (int)sig);
      }
      free(line);
    }
    reap();
    struct pollfd p[2] = {{.fd = CH, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0 && errno != EINTR) die_errno("poll");
    if (p[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {
      }
    }
    if (p[0].revents) read_more();
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--check") == 0) {
    puts("ok");
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "--serve") == 0) return serve();
  if (argc == 5 && strcmp(argv[1], "--mkvol") == 0) return mkvol(argv[2], argv[3], argv[4]);
  return launch(argc, argv);
}
