/*
 * Paced HTTP/1.1 latency probe for the sticky-session bench
 * (bench/sticky-http.ts): an open-loop client that measures answer times at
 * a chosen request rate far below capacity, where wrk's paced mode (its
 * delay() on a millisecond timer) adds hundreds of microseconds of its own.
 *
 * It opens K keep-alive connections to 127.0.0.1:PORT (TCP_NODELAY) and
 * schedules requests at RATE per second: request i is due at
 * start + i / RATE and goes on connection i mod K. A connection still
 * waiting for its previous answer keeps the request queued, and its latency
 * is measured from when it was due, not when it was sent, so a slow answer
 * shows in the requests behind it (no coordinated omission). Sends are timed
 * by a timerfd (nanosecond deadlines), answers read through epoll, and
 * every answer is checked: status 200 and no X-VGI-RPC-Error header; its
 * end found by Content-Length or chunked framing. The request is a POST of
 * the bytes in BODY_FILE to PATH with the Arrow media type; with a
 * TOKENS_FILE (one token per line; "-" for none) each request carries the
 * next token as its VGI-Session header. With TOKENS_FILE
 * "@open:OPEN_PATH:OPEN_BODY_FILE:N" every connection first opens N sticky
 * sessions of its own (N POSTs of OPEN_BODY_FILE to OPEN_PATH with
 * `VGI-Session-Accept: true`, one at a time, each answer checked and its
 * `VGI-Session` token kept), and then each request carries the next of its
 * own connection's tokens: a client that keeps each session on the
 * connection that opened it.
 *
 *   http-paced PORT PATH BODY_FILE TOKENS_FILE K RATE WARMUP_S SECONDS
 *
 * After WARMUP_S seconds at the rate, it records SECONDS seconds and prints
 * one JSON line: {"rate":R,"requests":N,"bad":B,"late_sends":L,"p50_us":..,
 * "p90_us":..,"p99_us":..,"p999_us":..,"max_us":..,"sent_p50_us":..,
 * "sent_p99_us":..,"sent_max_us":..,"cpu_us":C} (latency percentiles of the
 * recorded answers from when each was due; the same from when each was
 * written, which leaves out this process's own lateness in sending;
 * late_sends: requests sent more than 100 µs after they were due because
 * their connection was busy; cpu_us: this process's CPU over the recorded
 * window).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct conn {
  int fd;
  unsigned char *buf; /* unparsed answer bytes */
  size_t len, cap;
  /* Due times (ns) of the requests queued on this connection; the first is in flight when `busy`. */
  int64_t *due;
  size_t qhead, qlen, qcap;
  int busy;
  int64_t sent; /* when the request in flight was written */
  char **own;   /* the tokens of the sessions this connection opened ("@open:" mode) */
  size_t nown, next_own;
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static void die(const char *what) {
  perror(what);
  exit(2);
}

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) die(path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)n + 1);
  if (fread(b, 1, (size_t)n, f) != (size_t)n) die("read");
  fclose(f);
  b[n] = 0;
  *len = (size_t)n;
  return b;
}

static char **tokens;
static size_t ntokens, next_token;
static const char *path;
static unsigned char *body;
static size_t body_len;
static char *request_buf;
static size_t request_cap;

/* Write all of b[0, n) to `fd` (requests are small and the socket buffer is empty between answers: a busy socket is retried). */
static void write_all(int fd, const char *b, size_t n, const char *what) {
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(fd, b + off, n - off);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      die(what);
    }
    off += (size_t)w;
  }
}

/* Write one request on `c`. */
static void send_request(struct conn *c) {
  int head;
  if (c->nown > 0 || ntokens > 0) {
    const char *t = c->nown > 0 ? c->own[c->next_own++ % c->nown] : tokens[next_token++ % ntokens];
    head = snprintf(request_buf, request_cap, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/vnd.apache.arrow.stream\r\nVGI-Session: %s\r\nContent-Length: %zu\r\n\r\n", path, t, body_len);
  } else {
    head = snprintf(request_buf, request_cap, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/vnd.apache.arrow.stream\r\nContent-Length: %zu\r\n\r\n", path, body_len);
  }
  if (head < 0 || (size_t)head + body_len > request_cap) {
    fprintf(stderr, "http-paced: request too large\n");
    exit(2);
  }
  memcpy(request_buf + head, body, body_len);
  write_all(c->fd, request_buf, (size_t)head + body_len, "write");
  c->busy = 1;
  c->sent = now_ns();
}

/* Find "\r\n\r\n" in b[0, n). */
static long header_end(const unsigned char *b, size_t n) {
  for (size_t i = 3; i < n; i++)
    if (b[i - 3] == '\r' && b[i - 2] == '\n' && b[i - 1] == '\r' && b[i] == '\n') return (long)i + 1;
  return -1;
}

/* A header's value in the header block h[0, n) (case-insensitive name), or NULL. */
static const char *header_value(const char *h, size_t n, const char *name, size_t *vlen) {
  size_t nl = strlen(name);
  const char *p = h, *end = h + n;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL) eol = end;
    if ((size_t)(eol - p) > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
      const char *v = p + nl + 1;
      while (v < eol && (*v == ' ' || *v == '\t')) v++;
      const char *ve = eol;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ')) ve--;
      *vlen = (size_t)(ve - v);
      return v;
    }
    p = eol + 1;
  }
  return NULL;
}

/*
 * If c->buf starts with a whole answer: its length, and whether it was good
 * (status 200, no X-VGI-RPC-Error); 0 when incomplete.
 */
static size_t whole_answer(struct conn *c, int *good) {
  long he = header_end(c->buf, c->len);
  if (he < 0) return 0;
  const char *h = (const char *)c->buf;
  *good = c->len >= 12 && memcmp(h + 9, "200", 3) == 0;
  size_t vlen;
  if (header_value(h, (size_t)he, "X-VGI-RPC-Error", &vlen) != NULL) *good = 0;
  const char *cl = header_value(h, (size_t)he, "Content-Length", &vlen);
  if (cl != NULL) {
    size_t n = (size_t)strtoull(cl, NULL, 10);
    return c->len >= (size_t)he + n ? (size_t)he + n : 0;
  }
  const char *te = header_value(h, (size_t)he, "Transfer-Encoding", &vlen);
  if (te == NULL || strncasecmp(te, "chunked", 7) != 0) return (size_t)he; /* no body */
  size_t at = (size_t)he;
  for (;;) {
    /* chunk-size line */
    size_t i = at;
    while (i + 1 < c->len && !(c->buf[i] == '\r' && c->buf[i + 1] == '\n')) i++;
    if (i + 1 >= c->len) return 0;
    size_t n = (size_t)strtoull((const char *)c->buf + at, NULL, 16);
    at = i + 2 + n + 2;
    if (at > c->len) return 0;
    if (n == 0) return at;
  }
}

/* Read from blocking `c` until its buffer starts with a whole answer; its length. */
static size_t read_answer(struct conn *c, int *good) {
  size_t whole;
  while ((whole = whole_answer(c, good)) == 0) {
    if (c->cap - c->len < 16384) c->buf = realloc(c->buf, c->cap *= 2);
    ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die("read (opening sessions)");
    c->len += (size_t)r;
  }
  return whole;
}

/* Open `n` sessions on blocking `c` with POSTs of `open_body` to `open_path`, keeping their tokens. */
static void open_sessions(struct conn *c, const char *open_path, const unsigned char *open_body, size_t open_len, size_t n) {
  c->own = malloc(n * sizeof(char *));
  char *req = malloc(open_len + 1024);
  for (size_t i = 0; i < n; i++) {
    int head = snprintf(req, 1024, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/vnd.apache.arrow.stream\r\nVGI-Session-Accept: true\r\nContent-Length: %zu\r\n\r\n", open_path, open_len);
    memcpy(req + head, open_body, open_len);
    write_all(c->fd, req, (size_t)head + open_len, "write (opening sessions)");
    int good;
    size_t whole = read_answer(c, &good);
    size_t vlen;
    long he = header_end(c->buf, c->len);
    const char *t = header_value((const char *)c->buf, (size_t)he, "VGI-Session", &vlen);
    if (!good || t == NULL) {
      fprintf(stderr, "http-paced: opening a session failed: %.200s\n", (const char *)c->buf);
      exit(1);
    }
    c->own[c->nown++] = strndup(t, vlen);
    memmove(c->buf, c->buf + whole, c->len - whole);
    c->len -= whole;
  }
  free(req);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: http-paced PORT PATH BODY_FILE TOKENS_FILE K RATE WARMUP_S SECONDS\n");
    return 2;
  }
  int port = atoi(argv[1]);
  path = argv[2];
  body = read_file(argv[3], &body_len);
  const char *open_path = NULL;
  unsigned char *open_body = NULL;
  size_t open_len = 0, open_n = 0;
  if (strncmp(argv[4], "@open:", 6) == 0) {
    char *spec = strdup(argv[4] + 6);
    char *file = strchr(spec, ':');
    char *count = file == NULL ? NULL : strchr(file + 1, ':');
    if (count == NULL) {
      fprintf(stderr, "http-paced: expected @open:PATH:BODY_FILE:N\n");
      return 2;
    }
    *file++ = 0;
    *count++ = 0;
    open_path = spec;
    open_body = read_file(file, &open_len);
    open_n = (size_t)strtoull(count, NULL, 10);
    if (open_n < 1) {
      fprintf(stderr, "http-paced: N must be positive\n");
      return 2;
    }
  } else if (strcmp(argv[4], "-") != 0) {
    size_t tl;
    char *t = (char *)read_file(argv[4], &tl);
    size_t cap = 1024;
    tokens = malloc(cap * sizeof(char *));
    for (char *line = strtok(t, "\r\n"); line != NULL; line = strtok(NULL, "\r\n")) {
      if (ntokens == cap) tokens = realloc(tokens, (cap *= 2) * sizeof(char *));
      tokens[ntokens++] = line;
    }
  }
  int k = atoi(argv[5]);
  double rate = atof(argv[6]);
  double warmup_s = atof(argv[7]), seconds = atof(argv[8]);
  if (k < 1 || rate <= 0 || seconds <= 0) {
    fprintf(stderr, "http-paced: K, RATE and SECONDS must be positive\n");
    return 2;
  }
  request_cap = body_len + 4096;
  request_buf = malloc(request_cap);

  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  struct conn *conns = calloc((size_t)k, sizeof(struct conn));
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  for (int i = 0; i < k; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conns[i].fd = fd;
    conns[i].cap = 64 * 1024;
    conns[i].buf = malloc(conns[i].cap);
    if (open_path != NULL) open_sessions(&conns[i], open_path, open_body, open_len, open_n);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    conns[i].qcap = 64;
    conns[i].due = malloc(conns[i].qcap * sizeof(int64_t));
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  }
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  if (tfd < 0) die("timerfd_create");
  struct epoll_event tev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev) < 0) die("epoll_ctl timer");

  const int64_t interval = (int64_t)(1e9 / rate);
  const int64_t start = now_ns() + 1000000; /* first request 1 ms from now */
  const int64_t record_from = start + (int64_t)(warmup_s * 1e9);
  const int64_t record_to = record_from + (int64_t)(seconds * 1e9);
  size_t lat_cap = (size_t)(rate * seconds * 1.1) + 16, nlat = 0, nsvc = 0;
  double *lat = malloc(lat_cap * sizeof(double));
  double *svc = malloc(lat_cap * sizeof(double));
  uint64_t scheduled = 0;
  long bad = 0, late_sends = 0;
  int64_t cpu0 = 0;
  int recording = 0;
  struct epoll_event events[64];

  for (;;) {
    int64_t t = now_ns();
    if (!recording && t >= record_from) {
      recording = 1;
      cpu0 = cpu_us();
    }
    /* Issue every request now due (none after the window). */
    for (;;) {
      int64_t due = start + (int64_t)scheduled * interval;
      if (due > t || due >= record_to) break;
      struct conn *c = &conns[scheduled % (uint64_t)k];
      if (c->qlen == c->qcap) {
        int64_t *q = malloc(c->qcap * 2 * sizeof(int64_t));
        for (size_t j = 0; j < c->qlen; j++) q[j] = c->due[(c->qhead + j) % c->qcap];
        free(c->due);
        c->due = q;
        c->qhead = 0;
        c->qcap *= 2;
      }
      c->due[(c->qhead + c->qlen) % c->qcap] = due;
      c->qlen++;
      if (!c->busy) send_request(c);
      scheduled++;
    }
    int in_flight = 0;
    for (int i = 0; i < k; i++) in_flight |= conns[i].busy;
    int64_t next_due = start + (int64_t)scheduled * interval;
    if (next_due >= record_to && !in_flight) break;
    if (next_due < record_to) {
      struct itimerspec its = {.it_value = {.tv_sec = next_due / 1000000000LL, .tv_nsec = next_due % 1000000000LL}};
      timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    }
    int n = epoll_wait(ep, events, 64, 1000);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int e = 0; e < n; e++) {
      uint32_t id = events[e].data.u32;
      if (id == UINT32_MAX) {
        uint64_t x;
        while (read(tfd, &x, sizeof x) > 0) {
        }
        continue;
      }
      struct conn *c = &conns[id];
      for (;;) {
        if (c->cap - c->len < 16384) c->buf = realloc(c->buf, c->cap *= 2);
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (r < 0) {
          if (errno == EAGAIN) break;
          if (errno == EINTR) continue;
          die("read");
        }
        if (r == 0) {
          fprintf(stderr, "http-paced: the server closed a connection\n");
          return 1;
        }
        c->len += (size_t)r;
      }
      int good;
      size_t whole;
      while (c->busy && (whole = whole_answer(c, &good)) > 0) {
        int64_t done = now_ns();
        int64_t due = c->due[c->qhead];
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
        c->busy = 0;
        if (due >= record_from && due < record_to) {
          if (!good) bad++;
          if (nlat < lat_cap) lat[nlat++] = (double)(done - due) / 1000.0;
          if (nsvc < lat_cap) svc[nsvc++] = (double)(done - c->sent) / 1000.0;
        }
        memmove(c->buf, c->buf + whole, c->len - whole);
        c->len -= whole;
        if (c->qlen > 0) {
          if (c->due[c->qhead] >= record_from && done - c->due[c->qhead] > 100000) late_sends++;
          send_request(c);
        }
      }
    }
  }
  int64_t cpu = cpu_us() - cpu0;
  qsort(lat, nlat, sizeof(double), cmp_double);
  qsort(svc, nsvc, sizeof(double), cmp_double);
#define PCT(a, p) (nlat == 0 ? 0.0 : (a)[(size_t)((p) * (double)(nlat - 1))])
  printf("{\"rate\":%.1f,\"requests\":%zu,\"bad\":%ld,\"late_sends\":%ld,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
         "\"sent_p50_us\":%.1f,\"sent_p99_us\":%.1f,\"sent_max_us\":%.1f,\"cpu_us\":%lld}\n",
         (double)nlat / seconds, nlat, bad, late_sends, PCT(lat, 0.5), PCT(lat, 0.9), PCT(lat, 0.99), PCT(lat, 0.999), nlat == 0 ? 0.0 : lat[nlat - 1],
         PCT(svc, 0.5), PCT(svc, 0.99), nsvc == 0 ? 0.0 : svc[nsvc - 1], (long long)cpu);
  return 0;
}
