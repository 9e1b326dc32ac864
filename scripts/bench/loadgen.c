/*
 * loadgen: a neutral Gearman load generator built on libgearman.
 *
 * It speaks to any Gearman-compatible server through the reference C library
 * (libgearman), so gearmand and gearbox are measured with the same client and
 * worker code. Every mode is bounded by a job count AND a number of seconds,
 * stops by itself and prints one machine-readable line per measurement:
 *
 *   RESULT mode=fg clients=16 workers=4 size=100 batch=1 jobs=123456
 *          seconds=5.00 jobs_per_s=24691 p50_ms=0.610 p99_ms=1.900 ...
 *
 * Modes:
 *   fg         N client threads (one connection each) loop on
 *              gearman_client_do(); W echo worker threads. Latency is
 *              submit -> result of each job.
 *   pipelined  one client connection; batches of --batch foreground tasks
 *              (gearman_client_add_task + gearman_client_run_tasks); W echo
 *              workers. Latency is batch start -> that job's WORK_COMPLETE.
 *   bgsubmit   one client connection; batches of --batch background tasks
 *              (add_task_background + run_tasks), no worker running; counts
 *              acknowledged submits (JOB_CREATED). If --workers W > 0 it then
 *              starts W echo workers and measures how fast they drain the
 *              queue (a second line, mode=drain).
 *   freeport   print a free TCP port on 127.0.0.1 and exit (helper).
 *   probe      exit 0 if something accepts TCP connections on --port, else 2.
 *
 * Exit status: 0 ok, 1 usage, 2 server unreachable, 3 error during the run.
 *
 * Build: cc -O2 -std=gnu11 -pthread -o loadgen loadgen.c -lgearman -lm
 */
#define _GNU_SOURCE
#include <libgearman/gearman.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_UNREACHABLE = 2, EXIT_RUNERR = 3 };

#define MAX_THREADS 1024
#define MAX_JOBS 50000000L
#define WORKER_POLL_MS 100

static struct {
  const char *mode;
  const char *host;
  int port;
  int clients;
  int workers;
  size_t size;
  long jobs;
  double seconds;
  int batch;
  int timeout_ms;
  double ready_timeout;
  char func[200];
  const char *grab; /* worker grab packet: all (libgearman's default), uniq, plain */
  long server_pid;  /* > 0: report that process's CPU over each measured phase */
} O = {
    .host = "127.0.0.1",
    .port = 0,
    .clients = 1,
    .workers = 1,
    .size = 100,
    .jobs = 1000000,
    .seconds = 5,
    .batch = 0, /* 0 = mode default */
    .timeout_ms = 10000,
    .ready_timeout = 5,
    .grab = "all",
    .server_pid = 0,
};

/* ------------------------------------------------------------------ state */

static atomic_int g_stop;   /* worker threads leave their loop */
static atomic_int g_failed; /* someone recorded an error */
static pthread_mutex_t g_err_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_err[600];

static atomic_long g_claimed; /* fg: job slots handed out */
static atomic_long g_done;    /* completed, latency-recorded jobs */
static atomic_long g_worked;  /* jobs run by the echo workers */
static long g_drain_expect;   /* drain: stop when g_worked reaches this */
static _Atomic double g_drain_end;

static float *g_lat; /* latencies in ms, g_done of them */
static long g_lat_cap;
static double g_deadline;
static pthread_barrier_t g_bar;

static char *g_payload;
static char g_tag[40]; /* prefix for unique ids, distinct per run */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

static void fail(const char *fmt, ...) {
  pthread_mutex_lock(&g_err_mu);
  if (!g_err[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
  }
  pthread_mutex_unlock(&g_err_mu);
  atomic_store(&g_failed, 1);
  atomic_store(&g_stop, 1);
}

static void record_latency(double ms) {
  long i = atomic_fetch_add(&g_done, 1);
  if (i < g_lat_cap) g_lat[i] = (float)ms;
}

static const char *nonempty(const char *s, const char *fallback) {
  return (s && *s) ? s : fallback;
}

/* --------------------------------------------------------------- sockets */

/* A plain TCP connection with send/receive timeouts; -1 and errno on error. */
static int tcp_connect(const char *host, int port, int timeout_ms) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    errno = EINVAL;
    return -1;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/*
 * Ask the admin protocol ("status") how many workers can do `func`.
 * Returns the count (0 if the function is not listed), or -1 if the admin
 * command did not work.
 */
static int admin_available_workers(const char *func) {
  int fd = tcp_connect(O.host, O.port, 1000);
  if (fd < 0) return -1;
  static const char cmd[] = "status\n";
  if (send(fd, cmd, sizeof cmd - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof cmd - 1)) {
    close(fd);
    return -1;
  }
  size_t cap = 65536, len = 0;
  char *buf = malloc(cap + 1);
  int complete = 0;
  while (buf) {
    if (len == cap) {
      if (cap >= (16u << 20)) break;
      cap *= 2;
      char *nb = realloc(buf, cap + 1);
      if (!nb) break;
      buf = nb;
    }
    ssize_t n = recv(fd, buf + len, cap - len, 0);
    if (n <= 0) break;
    len += (size_t)n;
    buf[len] = 0;
    if ((len >= 2 && strcmp(buf, ".\n") == 0) || (len >= 3 && strcmp(buf + len - 3, "\n.\n") == 0)) {
      complete = 1;
      break;
    }
  }
  close(fd);
  if (!complete) {
    free(buf);
    return -1;
  }
  int result = 0;
  size_t flen = strlen(func);
  for (char *line = buf; line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    /* name \t total \t running \t available_workers */
    if (strncmp(line, func, flen) == 0 && line[flen] == '\t') {
      long total, running, avail;
      if (sscanf(line + flen + 1, "%ld\t%ld\t%ld", &total, &running, &avail) == 3) result = (int)avail;
    }
    line = nl ? nl + 1 : NULL;
  }
  free(buf);
  return result;
}

/* Wait until the server lists `want` workers for our function (best effort). */
static void wait_for_workers(int want) {
  double until = now_s() + O.ready_timeout;
  int seen = -1;
  while (now_s() < until && !atomic_load(&g_failed)) {
    seen = admin_available_workers(O.func);
    if (seen < 0) {
      fprintf(stderr, "loadgen: warning: admin 'status' did not answer; waiting 0.3 s for workers instead\n");
      sleep_s(0.3);
      return;
    }
    if (seen >= want) return;
    sleep_s(0.01);
  }
  if (!atomic_load(&g_failed))
    fprintf(stderr, "loadgen: warning: admin 'status' shows %d of %d workers for %s after %.1f s; starting anyway\n",
            seen, want, O.func, O.ready_timeout);
}

/* ---------------------------------------------------------------- worker */

static void *echo_fn(gearman_job_st *job, void *context, size_t *result_size, gearman_return_t *ret_ptr) {
  (void)context;
  size_t n = gearman_job_workload_size(job);
  char *out = malloc(n ? n : 1);
  if (!out) {
    *result_size = 0;
    *ret_ptr = GEARMAN_WORK_FAIL;
    return NULL;
  }
  if (n) memcpy(out, gearman_job_workload(job), n);
  *result_size = n;
  *ret_ptr = GEARMAN_SUCCESS;
  long done = atomic_fetch_add(&g_worked, 1) + 1;
  if (g_drain_expect > 0 && done == g_drain_expect) atomic_store(&g_drain_end, now_s());
  return out; /* libgearman sends it as WORK_COMPLETE and frees it */
}

static void *worker_main(void *arg) {
  long id = (long)(intptr_t)arg;
  gearman_worker_st *w = gearman_worker_create(NULL);
  if (!w) {
    fail("worker %ld: gearman_worker_create failed", id);
    return NULL;
  }
  /* Blocking calls return GEARMAN_TIMEOUT after this long so g_stop is seen. */
  gearman_worker_set_timeout(w, WORKER_POLL_MS);
  /* libgearman sends GRAB_JOB_ALL by default; uniq = GRAB_JOB_UNIQ, plain = GRAB_JOB. */
  if (strcmp(O.grab, "all") != 0) gearman_worker_remove_options(w, GEARMAN_WORKER_GRAB_ALL);
  if (strcmp(O.grab, "plain") == 0) gearman_worker_remove_options(w, GEARMAN_WORKER_GRAB_UNIQ);
  if (gearman_worker_add_server(w, O.host, (in_port_t)O.port) != GEARMAN_SUCCESS ||
      gearman_worker_add_function(w, O.func, 0, echo_fn, NULL) != GEARMAN_SUCCESS) {
    fail("worker %ld: setup: %s", id, gearman_worker_error(w));
    gearman_worker_free(w);
    return NULL;
  }
  while (!atomic_load(&g_stop)) {
    gearman_return_t rc = gearman_worker_work(w);
    if (rc == GEARMAN_SUCCESS || rc == GEARMAN_TIMEOUT || rc == GEARMAN_NO_JOBS || rc == GEARMAN_IO_WAIT) continue;
    if (!atomic_load(&g_stop))
      fail("worker %ld: gearman_worker_work: %s (%s)", id, nonempty(gearman_worker_error(w), "?"),
           gearman_strerror(rc));
    break;
  }
  gearman_worker_free(w);
  return NULL;
}

static pthread_t g_worker_threads[MAX_THREADS];

static void start_workers(int n) {
  for (int i = 0; i < n; i++)
    if (pthread_create(&g_worker_threads[i], NULL, worker_main, (void *)(intptr_t)i) != 0) {
      fprintf(stderr, "loadgen: cannot create worker thread: %s\n", strerror(errno));
      exit(EXIT_RUNERR);
    }
}

static void stop_workers(int n) {
  atomic_store(&g_stop, 1);
  for (int i = 0; i < n; i++) pthread_join(g_worker_threads[i], NULL);
}

/* ---------------------------------------------------------------- client */

static gearman_client_st *make_client(const char *who) {
  gearman_client_st *c = gearman_client_create(NULL);
  if (!c) {
    fail("%s: gearman_client_create failed", who);
    return NULL;
  }
  gearman_client_set_timeout(c, O.timeout_ms);
  if (gearman_client_add_server(c, O.host, (in_port_t)O.port) != GEARMAN_SUCCESS) {
    fail("%s: gearman_client_add_server: %s", who, gearman_client_error(c));
    gearman_client_free(c);
    return NULL;
  }
  return c;
}

/* One foreground job; returns 1 on success (echo checked). */
static int do_one(gearman_client_st *c, const char *unique) {
  size_t rsize = 0;
  gearman_return_t rc = GEARMAN_UNKNOWN_STATE;
  void *res = gearman_client_do(c, O.func, unique, g_payload, O.size, &rsize, &rc);
  if (rc != GEARMAN_SUCCESS) {
    fail("client: gearman_client_do: %s (%s)", nonempty(gearman_client_error(c), "?"), gearman_strerror(rc));
    free(res);
    return 0;
  }
  int same = rsize == O.size && (O.size == 0 || (res && memcmp(res, g_payload, O.size) == 0));
  free(res);
  if (!same) {
    fail("client: echo returned %zu bytes that differ from the %zu sent", rsize, O.size);
    return 0;
  }
  return 1;
}

static void *fg_client_main(void *arg) {
  long id = (long)(intptr_t)arg;
  char who[32], unique[64];
  snprintf(who, sizeof who, "client %ld", id);
  gearman_client_st *c = make_client(who);
  if (c) { /* warm-up job: connects and proves a worker is there; not counted */
    snprintf(unique, sizeof unique, "%s-w%ld", g_tag, id);
    do_one(c, unique);
  }
  pthread_barrier_wait(&g_bar); /* everyone warmed up */
  pthread_barrier_wait(&g_bar); /* main has set g_deadline */
  while (c && !atomic_load(&g_failed)) {
    long slot = atomic_fetch_add(&g_claimed, 1);
    if (slot >= O.jobs || now_s() >= g_deadline) break;
    snprintf(unique, sizeof unique, "%s-%ld", g_tag, slot);
    double t0 = now_s();
    if (!do_one(c, unique)) break;
    record_latency((now_s() - t0) * 1e3);
  }
  if (c) gearman_client_free(c);
  return NULL;
}

/* Batches on one connection (pipelined and bgsubmit). */
struct batch {
  double t0;
  long completed;
};

static gearman_return_t on_complete(gearman_task_st *task) {
  struct batch *b = gearman_task_context(task);
  size_t n = gearman_task_data_size(task);
  const void *data = gearman_task_data(task);
  if (n != O.size || (O.size && (!data || memcmp(data, g_payload, O.size) != 0)))
    fail("client: echo returned %zu bytes that differ from the %zu sent", n, O.size);
  record_latency((now_s() - b->t0) * 1e3);
  b->completed++;
  return GEARMAN_SUCCESS;
}

static gearman_return_t on_created(gearman_task_st *task) {
  struct batch *b = gearman_task_context(task);
  b->completed++;
  return GEARMAN_SUCCESS;
}

static gearman_return_t on_fail(gearman_task_st *task) {
  fail("client: job %s failed (WORK_FAIL)", nonempty(gearman_task_job_handle(task), "?"));
  return GEARMAN_SUCCESS;
}

static gearman_return_t on_exception(gearman_task_st *task) {
  fail("client: job %s raised WORK_EXCEPTION", nonempty(gearman_task_job_handle(task), "?"));
  return GEARMAN_SUCCESS;
}

/* Submit n tasks as one run_tasks call; returns how many were acknowledged. */
static long run_batch(gearman_client_st *c, int background, long n, long *seq) {
  struct batch b = {now_s(), 0};
  char unique[64];
  for (long i = 0; i < n; i++) {
    gearman_return_t rc = GEARMAN_UNKNOWN_STATE;
    snprintf(unique, sizeof unique, "%s-%ld", g_tag, (*seq)++);
    gearman_task_st *t =
        background ? gearman_client_add_task_background(c, NULL, &b, O.func, unique, g_payload, O.size, &rc)
                   : gearman_client_add_task(c, NULL, &b, O.func, unique, g_payload, O.size, &rc);
    if (!t || rc != GEARMAN_SUCCESS) {
      fail("client: add_task: %s (%s)", nonempty(gearman_client_error(c), "?"), gearman_strerror(rc));
      gearman_client_task_free_all(c);
      return 0;
    }
  }
  gearman_return_t rc = gearman_client_run_tasks(c);
  if (rc != GEARMAN_SUCCESS && !atomic_load(&g_failed))
    fail("client: gearman_client_run_tasks: %s (%s)", nonempty(gearman_client_error(c), "?"), gearman_strerror(rc));
  gearman_client_task_free_all(c);
  if (!atomic_load(&g_failed) && b.completed != n)
    fail("client: run_tasks returned with %ld of %ld tasks %s", b.completed, n,
         background ? "acknowledged" : "completed");
  return b.completed;
}

/* ----------------------------------------------------------------- stats */

/* CPU seconds (user + system) the server process has used so far, from
 * /proc/PID/stat; -1 when unknown. Resolution is one clock tick (10 ms). */
static double server_cpu_s(void) {
  if (O.server_pid <= 0) return -1;
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", O.server_pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  if (!p) return -1;
  unsigned long long ut = 0, st = 0;
  /* after ")": state(3) ... utime(14) stime(15) */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double g_cpu0; /* server CPU at the start of the measured phase */

static void cpu_mark(void) { g_cpu0 = server_cpu_s(); }

/* " server_cpu_us_per_job=X" for the phase since cpu_mark(), or "" when unknown. */
static const char *cpu_field(long jobs) {
  static char out[64];
  double c1 = server_cpu_s();
  out[0] = 0;
  if (g_cpu0 >= 0 && c1 >= 0 && jobs > 0) snprintf(out, sizeof out, " server_cpu_us_per_job=%.1f", (c1 - g_cpu0) * 1e6 / (double)jobs);
  return out;
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of the recorded latencies (sorts g_lat). */
static void percentiles(long n, double *p50, double *p99) {
  if (n > g_lat_cap) n = g_lat_cap;
  if (n <= 0) {
    *p50 = *p99 = NAN;
    return;
  }
  qsort(g_lat, (size_t)n, sizeof *g_lat, cmp_float);
  long i50 = (long)ceil(0.50 * (double)n) - 1, i99 = (long)ceil(0.99 * (double)n) - 1;
  *p50 = g_lat[i50 < 0 ? 0 : i50];
  *p99 = g_lat[i99 < 0 ? 0 : i99];
}

static void print_result(const char *mode, int clients, int workers, int batch, long jobs, double secs, int with_lat,
                         const char *extra) {
  double p50 = NAN, p99 = NAN;
  if (with_lat) percentiles(jobs, &p50, &p99);
  char l50[32] = "-", l99[32] = "-";
  if (with_lat && !isnan(p50)) {
    snprintf(l50, sizeof l50, "%.3f", p50);
    snprintf(l99, sizeof l99, "%.3f", p99);
  }
  printf("RESULT mode=%s clients=%d workers=%d size=%zu batch=%d grab=%s jobs=%ld seconds=%.2f jobs_per_s=%.0f p50_ms=%s "
         "p99_ms=%s func=%s%s%s%s\n",
         mode, clients, workers, O.size, batch, O.grab, jobs, secs, secs > 0 ? (double)jobs / secs : 0.0, l50, l99, O.func,
         extra ? " " : "", extra ? extra : "", cpu_field(jobs));
  fflush(stdout);
}

static int finish_error(void) {
  fprintf(stderr, "loadgen: error: %s\n", g_err[0] ? g_err : "unknown failure");
  return EXIT_RUNERR;
}

/* ----------------------------------------------------------------- modes */

static int run_fg(void) {
  static pthread_t th[MAX_THREADS];
  start_workers(O.workers);
  wait_for_workers(O.workers);
  if (pthread_barrier_init(&g_bar, NULL, (unsigned)O.clients + 1) != 0) {
    fprintf(stderr, "loadgen: pthread_barrier_init failed\n");
    return EXIT_RUNERR;
  }
  for (int i = 0; i < O.clients; i++)
    if (pthread_create(&th[i], NULL, fg_client_main, (void *)(intptr_t)i) != 0) {
      fprintf(stderr, "loadgen: cannot create client thread: %s\n", strerror(errno));
      exit(EXIT_RUNERR);
    }
  pthread_barrier_wait(&g_bar);
  double t0 = now_s();
  cpu_mark();
  g_deadline = t0 + O.seconds;
  pthread_barrier_wait(&g_bar);
  for (int i = 0; i < O.clients; i++) pthread_join(th[i], NULL);
  double secs = now_s() - t0;
  stop_workers(O.workers);
  if (atomic_load(&g_failed)) return finish_error();
  print_result("fg", O.clients, O.workers, 1, atomic_load(&g_done), secs, 1, NULL);
  return EXIT_OK;
}

static int run_pipelined(void) {
  start_workers(O.workers);
  wait_for_workers(O.workers);
  gearman_client_st *c = make_client("client");
  if (!c) {
    stop_workers(O.workers);
    return finish_error();
  }
  gearman_client_set_complete_fn(c, on_complete);
  gearman_client_set_fail_fn(c, on_fail);
  gearman_client_set_exception_fn(c, on_exception);
  long seq = 0;
  /* Warm-up batch, not counted. */
  run_batch(c, 0, O.batch < 10 ? O.batch : 10, &seq);
  atomic_store(&g_done, 0);
  double t0 = now_s();
  cpu_mark();
  g_deadline = t0 + O.seconds;
  long done = 0;
  while (!atomic_load(&g_failed) && done < O.jobs && now_s() < g_deadline) {
    long n = O.jobs - done < O.batch ? O.jobs - done : O.batch;
    done += run_batch(c, 0, n, &seq);
  }
  double secs = now_s() - t0;
  gearman_client_free(c);
  stop_workers(O.workers);
  if (atomic_load(&g_failed)) return finish_error();
  print_result("pipelined", 1, O.workers, O.batch, done, secs, 1, NULL);
  return EXIT_OK;
}

static int run_bgsubmit(void) {
  gearman_client_st *c = make_client("client");
  if (!c) return finish_error();
  gearman_client_set_created_fn(c, on_created);
  long seq = 0, acked = 0;
  double t0 = now_s();
  cpu_mark();
  g_deadline = t0 + O.seconds;
  while (!atomic_load(&g_failed) && acked < O.jobs && now_s() < g_deadline) {
    long n = O.jobs - acked < O.batch ? O.jobs - acked : O.batch;
    acked += run_batch(c, 1, n, &seq);
  }
  double secs = now_s() - t0;
  gearman_client_free(c);
  if (atomic_load(&g_failed)) return finish_error();
  print_result("bgsubmit", 1, 0, O.batch, acked, secs, 0, NULL);
  if (O.workers <= 0 || acked == 0) return EXIT_OK;

  /* Drain: W workers empty the queue that was just filled. */
  g_drain_expect = acked;
  atomic_store(&g_worked, 0);
  atomic_store(&g_drain_end, 0.0);
  t0 = now_s();
  cpu_mark();
  g_deadline = t0 + O.seconds;
  start_workers(O.workers);
  while (!atomic_load(&g_failed) && atomic_load(&g_worked) < acked && now_s() < g_deadline) sleep_s(0.002);
  double end = atomic_load(&g_drain_end);
  long worked = atomic_load(&g_worked);
  if (end <= 0) end = now_s();
  stop_workers(O.workers);
  if (atomic_load(&g_failed)) return finish_error();
  char extra[64];
  snprintf(extra, sizeof extra, "queued=%ld complete=%d", acked, worked >= acked);
  print_result("drain", 0, O.workers, 0, worked, end - t0, 0, extra);
  return EXIT_OK;
}

/* --------------------------------------------------------------- helpers */

static int run_freeport(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
    fprintf(stderr, "loadgen: freeport: %s\n", strerror(errno));
    return EXIT_RUNERR;
  }
  printf("%d\n", ntohs(sa.sin_port));
  close(fd);
  return EXIT_OK;
}

static void *watchdog_main(void *arg) {
  double limit = *(double *)arg;
  sleep_s(limit);
  fprintf(stderr, "loadgen: error: watchdog: the run did not finish within %.0f s (server stalled?)\n", limit);
  fflush(stderr);
  _exit(EXIT_RUNERR);
  return NULL;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: loadgen MODE --port P [options]\n"
          "modes:\n"
          "  fg          N clients loop on gearman_client_do, W echo workers\n"
          "  pipelined   1 client, batches of foreground tasks (add_task + run_tasks), W echo workers\n"
          "  bgsubmit    1 client, batches of background tasks, no workers; then, if W > 0,\n"
          "              W workers drain the queue (second RESULT line, mode=drain)\n"
          "  freeport    print a free TCP port on 127.0.0.1\n"
          "  probe       exit 0 if --port accepts TCP connections, else 2\n"
          "options:\n"
          "  --host A        server IPv4 address (default 127.0.0.1)\n"
          "  --port P        server port (required)\n"
          "  --clients N     client threads in fg mode (default 1)\n"
          "  --workers W     echo worker threads (default 1; bgsubmit: 0 = no drain)\n"
          "  --size BYTES    workload size per job (default 100)\n"
          "  --jobs COUNT    stop after this many measured jobs (default 1000000)\n"
          "  --seconds S     ... or after this many seconds, per phase (default 5)\n"
          "  --batch B       tasks per run_tasks call (pipelined 100, bgsubmit 1000)\n"
          "  --func NAME     function name (default: bench_MODE_PID_TIME, distinct per run)\n"
          "  --timeout-ms T  libgearman I/O timeout (default 10000)\n"
          "  --grab G        workers grab with all (GRAB_JOB_ALL, libgearman's default),\n"
          "                  uniq (GRAB_JOB_UNIQ) or plain (GRAB_JOB)\n"
          "  --server-pid P  report process P's CPU per job (server_cpu_us_per_job)\n");
}

static long parse_long(const char *s, const char *what, long lo, long hi) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || end == s || v < lo || v > hi) {
    fprintf(stderr, "loadgen: %s must be an integer in [%ld, %ld], got '%s'\n", what, lo, hi, s);
    exit(EXIT_USAGE);
  }
  return v;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"host", required_argument, 0, 'H'},    {"port", required_argument, 0, 'p'},
      {"clients", required_argument, 0, 'c'}, {"workers", required_argument, 0, 'w'},
      {"size", required_argument, 0, 's'},    {"jobs", required_argument, 0, 'n'},
      {"seconds", required_argument, 0, 't'}, {"batch", required_argument, 0, 'b'},
      {"func", required_argument, 0, 'f'},    {"timeout-ms", required_argument, 0, 'T'},
      {"grab", required_argument, 0, 'g'},    {"server-pid", required_argument, 0, 'P'},
      {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
  if (argc < 2 || argv[1][0] == '-') {
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
      usage(stdout);
      return EXIT_OK;
    }
    usage(stderr);
    return EXIT_USAGE;
  }
  O.mode = argv[1];
  optind = 2;
  int ch;
  char *end;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'H': O.host = optarg; break;
    case 'p': O.port = (int)parse_long(optarg, "--port", 1, 65535); break;
    case 'c': O.clients = (int)parse_long(optarg, "--clients", 1, MAX_THREADS); break;
    case 'w': O.workers = (int)parse_long(optarg, "--workers", 0, MAX_THREADS); break;
    case 's': O.size = (size_t)parse_long(optarg, "--size", 0, 64L << 20); break;
    case 'n': O.jobs = parse_long(optarg, "--jobs", 1, MAX_JOBS); break;
    case 'b': O.batch = (int)parse_long(optarg, "--batch", 1, 1000000); break;
    case 'T': O.timeout_ms = (int)parse_long(optarg, "--timeout-ms", 1, 3600000); break;
    case 'P': O.server_pid = parse_long(optarg, "--server-pid", 1, 1L << 30); break;
    case 'g':
      if (strcmp(optarg, "all") && strcmp(optarg, "uniq") && strcmp(optarg, "plain")) {
        fprintf(stderr, "loadgen: --grab takes all, uniq or plain, got '%s'\n", optarg);
        return EXIT_USAGE;
      }
      O.grab = optarg;
      break;
    case 't':
      O.seconds = strtod(optarg, &end);
      if (*end || end == optarg || !(O.seconds > 0) || O.seconds > 3600) {
        fprintf(stderr, "loadgen: --seconds must be a number in (0, 3600], got '%s'\n", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'f':
      if (!*optarg || strlen(optarg) >= sizeof O.func) {
        fprintf(stderr, "loadgen: --func must be 1..%zu bytes\n", sizeof O.func - 1);
        return EXIT_USAGE;
      }
      snprintf(O.func, sizeof O.func, "%s", optarg);
      break;
    case 'h': usage(stdout); return EXIT_OK;
    default: usage(stderr); return EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "loadgen: unexpected argument '%s'\n", argv[optind]);
    return EXIT_USAGE;
  }

  if (!strcmp(O.mode, "freeport")) return run_freeport();

  int fg = !strcmp(O.mode, "fg"), pl = !strcmp(O.mode, "pipelined"), bg = !strcmp(O.mode, "bgsubmit");
  int probe = !strcmp(O.mode, "probe");
  if (!fg && !pl && !bg && !probe) {
    fprintf(stderr, "loadgen: unknown mode '%s'\n", O.mode);
    usage(stderr);
    return EXIT_USAGE;
  }
  if (!O.port) {
    fprintf(stderr, "loadgen: --port is required\n");
    return EXIT_USAGE;
  }
  if ((fg || pl) && O.workers < 1) {
    fprintf(stderr, "loadgen: mode %s needs --workers >= 1\n", O.mode);
    return EXIT_USAGE;
  }
  signal(SIGPIPE, SIG_IGN);

  /* Fail fast and clearly when nothing listens. */
  int fd = tcp_connect(O.host, O.port, 2000);
  if (fd < 0) {
    if (!probe)
      fprintf(stderr, "loadgen: cannot connect to %s:%d: %s (is the server running?)\n", O.host, O.port,
              strerror(errno));
    return EXIT_UNREACHABLE;
  }
  close(fd);
  if (probe) return EXIT_OK;

  if (!O.batch) O.batch = pl ? 100 : 1000;
  unsigned long stamp = (unsigned long)time(NULL);
  snprintf(g_tag, sizeof g_tag, "%x%lx", (unsigned)getpid(), stamp % 0xffffff);
  if (!O.func[0]) snprintf(O.func, sizeof O.func, "bench_%s_%d_%lu", O.mode, (int)getpid(), stamp);

  g_payload = malloc(O.size ? O.size : 1);
  for (size_t i = 0; i < O.size; i++) g_payload[i] = (char)('a' + i % 26);
  g_lat_cap = O.jobs;
  g_lat = malloc((size_t)g_lat_cap * sizeof *g_lat);
  if (!g_payload || !g_lat) {
    fprintf(stderr, "loadgen: out of memory\n");
    return EXIT_RUNERR;
  }

  /* Every phase is bounded by --seconds; the watchdog catches a stalled server. */
  static double limit;
  limit = O.seconds * (bg ? 2 : 1) + 2.0 * O.ready_timeout + 2.0 * O.timeout_ms / 1000.0 + 10;
  pthread_t wd;
  if (pthread_create(&wd, NULL, watchdog_main, &limit) == 0) pthread_detach(wd);

  if (fg) return run_fg();
  if (pl) return run_pipelined();
  return run_bgsubmit();
}
