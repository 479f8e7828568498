/*
 * Native load generator for the unix-socket benchmark (bench/unix.ts), the
 * same contract as bench/unix-load.ts --client replay, at a fraction of its
 * CPU cost: the generator shares the machine's two cores with the server it
 * measures, so the less it spends per call, the more the numbers say about
 * the server.
 *
 * It opens K connections to the unix socket PATH and keeps W requests in
 * flight on each. The request is the bytes in REQUEST_FILE (one unary
 * request stream, encoded by our client), written again for every call.
 * Responses are split into Arrow IPC messages by their framing (no
 * decoding); a response ends at an end-of-stream marker. The first
 * response on every connection sets the size of a good one; a later
 * response of another size (an error or log stream would be) counts as an
 * error. The caller checks the answer itself with a typed call first.
 *
 *   unix-load PATH REQUEST_FILE K W
 *
 * Prints {"ready":true} once every connection has answered a first call
 * and the load runs. Each `mark` line on stdin is answered with
 * {"calls":N,"errors":E,"t_ms":T,"cpu_us":C}; `stop` or EOF ends it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct conn {
  int fd;
  unsigned char *buf; /* unparsed response bytes */
  size_t len, cap;
  size_t response_bytes; /* bytes of the response being read */
  long expected; /* size of a good response; -1 until the first one */
  int first_done;
};

static unsigned char *request;
static size_t request_len;
static long long calls, errors;
static int running = 1;

static void die(const char *what) {
  fprintf(stderr, "unix-load: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long long cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static void send_request(struct conn *c) {
  size_t off = 0;
  while (off < request_len) {
    ssize_t n = write(c->fd, request + off, request_len - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) { /* the request is small; the socket buffer is never full in practice */
        usleep(10);
        continue;
      }
      die("write");
    }
    off += (size_t)n;
  }
}

static uint32_t rd32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static int64_t rd64(const unsigned char *p) { int64_t v; memcpy(&v, p, 8); return v; }

/* bodyLength of the flatbuffer Message at p (field 3, an int64; 0 when absent). */
static int64_t body_length(const unsigned char *p) {
  const unsigned char *table = p + rd32(p);
  const unsigned char *vtable = table - (int32_t)rd32(table);
  uint16_t vsize = rd16(vtable);
  const int slot = 4 + 3 * 2;
  if (slot + 2 > vsize) return 0;
  uint16_t off = rd16(vtable + slot);
  return off == 0 ? 0 : rd64(table + off);
}

/* Parse complete messages; returns the number of responses finished. */
static int parse(struct conn *c, int *first_now) {
  size_t pos = 0;
  int done = 0;
  for (;;) {
    if (c->len - pos < 8) break;
    uint32_t marker = rd32(c->buf + pos);
    int32_t meta = (int32_t)rd32(c->buf + pos + 4);
    if (marker != 0xffffffffu || meta < 0) {
      fprintf(stderr, "unix-load: response framing lost\n");
      exit(1);
    }
    size_t size = 8;
    if (meta > 0) {
      if (c->len - pos < 8 + (size_t)meta) break;
      size = 8 + (size_t)meta + (size_t)body_length(c->buf + pos + 8);
      if (c->len - pos < size) break;
    }
    pos += size;
    c->response_bytes += size;
    if (meta != 0) continue;
    /* End of stream: one response complete. */
    if (c->expected < 0) {
      c->expected = (long)c->response_bytes;
      *first_now = 1;
    } else if ((long)c->response_bytes == c->expected) {
      calls++;
      done++;
    } else {
      errors++;
      done++;
    }
    c->response_bytes = 0;
  }
  if (pos > 0) {
    memmove(c->buf, c->buf + pos, c->len - pos);
    c->len -= pos;
  }
  return done;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: unix-load PATH REQUEST_FILE CONNECTIONS INFLIGHT\n");
    return 64;
  }
  const char *path = argv[1];
  int k = atoi(argv[3]), w = atoi(argv[4]);
  FILE *rf = fopen(argv[2], "rb");
  if (!rf) die("request file");
  fseek(rf, 0, SEEK_END);
  request_len = (size_t)ftell(rf);
  fseek(rf, 0, SEEK_SET);
  request = malloc(request_len);
  if (fread(request, 1, request_len, rf) != request_len) die("read request");
  fclose(rf);

  int ep = epoll_create1(0);
  if (ep < 0) die("epoll");
  struct conn *conns = calloc((size_t)k, sizeof *conns);
  for (int i = 0; i < k; i++) {
    struct conn *c = &conns[i];
    c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (c->fd < 0) die("socket");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->cap = 1 << 16;
    c->buf = malloc(c->cap);
    c->expected = -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
    send_request(c);
  }
  struct epoll_event sev = {.events = EPOLLIN, .data.ptr = NULL};
  int firsts = 0;
  char line[256];
  size_t line_len = 0;
  struct epoll_event events[64];
  while (running) {
    int n = epoll_wait(ep, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int e = 0; e < n; e++) {
      struct conn *c = events[e].data.ptr;
      if (c == NULL) {
        ssize_t r = read(0, line + line_len, sizeof line - 1 - line_len);
        if (r <= 0) { running = 0; break; }
        line_len += (size_t)r;
        char *nl;
        while ((nl = memchr(line, '\n', line_len)) != NULL) {
          *nl = 0;
          if (strcmp(line, "mark") == 0) {
            printf("{\"calls\":%lld,\"errors\":%lld,\"t_ms\":%.3f,\"cpu_us\":%lld}\n", calls, errors, now_ms(), cpu_us());
            fflush(stdout);
          } else if (strcmp(line, "stop") == 0) {
            running = 0;
          }
          size_t used = (size_t)(nl - line) + 1;
          memmove(line, nl + 1, line_len - used);
          line_len -= used;
        }
        if (line_len == sizeof line - 1) line_len = 0;
        continue;
      }
      {
        /* One read per readiness event: epoll is level-triggered, so unread bytes wake us again. */
        if (c->cap - c->len < 4096) {
          c->cap *= 2;
          c->buf = realloc(c->buf, c->cap);
        }
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (r < 0) {
          if (errno == EAGAIN || errno == EINTR) continue;
          die("read");
        }
        if (r == 0) {
          fprintf(stderr, "unix-load: the server closed a connection\n");
          return 1;
        }
        c->len += (size_t)r;
        int first_now = 0;
        int done = parse(c, &first_now);
        for (int d = 0; d < done; d++) send_request(c);
        if (first_now && !c->first_done) {
          c->first_done = 1;
          if (++firsts == k) {
            /* Every connection answered: start the load and tell the parent. */
            for (int i = 0; i < k; i++)
              for (int j = 0; j < w; j++) send_request(&conns[i]);
            if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev) < 0) die("epoll_ctl stdin");
            printf("{\"ready\":true}\n");
            fflush(stdout);
          }
        }
      }
    }
  }
  for (int i = 0; i < k; i++) close(conns[i].fd);
  if (errors > 0) fprintf(stderr, "unix-load: %lld failed calls\n", errors);
  return errors > 100 ? 1 : 0;
}
