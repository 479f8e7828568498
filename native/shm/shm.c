/*
 * POSIX shared-memory objects mapped into a Node process, for the vgi-rpc shm transport.
 *
 * Node has no mmap, and the npm addons that offer one either do not build on Node 20 or put a
 * header of their own at the start of the object (the reference's segment header must sit at
 * offset 0). This addon is deliberately small: shm_open/ftruncate/fstat/mmap/munmap/shm_unlink,
 * with the mapping exposed as an external ArrayBuffer. Only node-api (C) is used, so one binary
 * works across Node versions with the same ABI.
 *
 * Exports:
 *   create(name, size) -> ArrayBuffer   O_CREAT|O_EXCL|O_RDWR, mode 0600, ftruncate(size), mmap
 *   attach(name)       -> ArrayBuffer   O_RDWR, fstat size, mmap of the whole object
 *   unmap(buffer)      -> undefined     detach the ArrayBuffer, then munmap; idempotent
 *   unlink(name)       -> boolean       shm_unlink; false when the name did not exist
 * Errors are thrown with `code` set to the errno name (e.g. "ENOENT").
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NAME_MAX
#define NAME_MAX 255
#endif

/* One mapping. Freed by the ArrayBuffer's finalizer, which runs after GC or after a detach. */
typedef struct {
  void *addr;
  size_t len;
  int unmapped;
} mapping_t;

static const char *errno_name(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case EOVERFLOW: return "EOVERFLOW";
    case ENOTSUP: return "ENOTSUP";
#if defined(EOPNOTSUPP) && EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP: return "EOPNOTSUPP";
#endif
    default: return "EUNKNOWN";
  }
}

/* Throws an Error whose code is the errno name and whose message names the call and the object. */
static napi_value throw_errno(napi_env env, int err, const char *call, const char *name) {
  char msg[NAME_MAX + 128];
  snprintf(msg, sizeof msg, "%s(%s): %s", call, name ? name : "", strerror(err));
  napi_throw_error(env, errno_name(err), msg);
  return NULL;
}

static napi_value throw_code(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

/*
 * Reads the name argument into out as "/name": a leading '/' is optional, no other '/' is
 * allowed, and the part after the slash is 1..NAME_MAX bytes. Returns 0, or throws and returns -1.
 */
static int read_name(napi_env env, napi_value value, char out[NAME_MAX + 2]) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string) {
    throw_code(env, "EINVAL", "shm name must be a string");
    return -1;
  }
  char raw[NAME_MAX + 3];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, raw, sizeof raw, &len) != napi_ok) {
    throw_code(env, "EINVAL", "shm name could not be read");
    return -1;
  }
  const char *bare = raw[0] == '/' ? raw + 1 : raw;
  size_t bare_len = len - (size_t)(bare - raw);
  /* len == sizeof raw - 1 means the string may have been truncated: too long either way. */
  if (bare_len > NAME_MAX || len >= sizeof raw - 1) {
    throw_code(env, "ENAMETOOLONG", "shm name is longer than NAME_MAX");
    return -1;
  }
  if (bare_len == 0 || strchr(bare, '/') != NULL || memchr(bare, '\0', bare_len) != NULL ||
      strcmp(bare, ".") == 0 || strcmp(bare, "..") == 0) {
    throw_code(env, "EINVAL", "shm name must be non-empty, not '.' or '..', with no '/' after an optional leading one");
    return -1;
  }
  out[0] = '/';
  memcpy(out + 1, bare, bare_len + 1);
  return 0;
}

static void finalize_mapping(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  mapping_t *m = hint;
  if (!m->unmapped) munmap(m->addr, m->len);
  free(m);
}

/* Maps fd's first len bytes and wraps them in an external ArrayBuffer; closes fd either way. */
static napi_value map_fd(napi_env env, int fd, size_t len, const char *name) {
  void *addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);
  if (addr == MAP_FAILED) return throw_errno(env, err, "mmap", name);
  mapping_t *m = malloc(sizeof *m);
  if (m == NULL) {
    munmap(addr, len);
    return throw_errno(env, ENOMEM, "malloc", name);
  }
  m->addr = addr;
  m->len = len;
  m->unmapped = 0;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, addr, len, finalize_mapping, m, &ab) != napi_ok) {
    munmap(addr, len);
    free(m);
    return throw_code(env, "EUNKNOWN", "napi_create_external_arraybuffer failed");
  }
  /* The wrap lets unmap() find the mapping from the ArrayBuffer; the finalizer owns the memory. */
  if (napi_wrap(env, ab, m, NULL, NULL, NULL) != napi_ok) {
    /* The finalizer will munmap and free once the ArrayBuffer is collected. */
    return throw_code(env, "EUNKNOWN", "napi_wrap failed");
  }
  return ab;
}

static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return throw_code(env, "EINVAL", "create(name, size)");
  char name[NAME_MAX + 2];
  if (read_name(env, argv[0], name) != 0) return NULL;
  int64_t size = 0;
  if (napi_get_value_int64(env, argv[1], &size) != napi_ok || size <= 0 ||
      (uint64_t)size > (uint64_t)SIZE_MAX) {
    return throw_code(env, "EINVAL", "shm size must be a positive integer");
  }
  int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, S_IRUSR | S_IWUSR);
  if (fd < 0) return throw_errno(env, errno, "shm_open", name);
  /* The umask can only narrow the mode; fchmod makes it exactly 0600 whatever shm_open applied. */
  const char *failed = NULL;
  struct stat st;
  if (fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
    failed = "fchmod";
  } else if (ftruncate(fd, (off_t)size) != 0) {
    failed = "ftruncate";
  } else if (fstat(fd, &st) != 0) {
    failed = "fstat";
  } else if (st.st_size <= 0) {
    errno = EINVAL;
    failed = "fstat size";
  }
  if (failed != NULL) {
    int err = errno;
    close(fd);
    shm_unlink(name);
    return throw_errno(env, err, failed, name);
  }
  napi_value ab = map_fd(env, fd, (size_t)st.st_size, name);
  if (ab == NULL) shm_unlink(name);
  return ab;
}

static napi_value js_attach(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) return throw_code(env, "EINVAL", "attach(name)");
  char name[NAME_MAX + 2];
  if (read_name(env, argv[0], name) != 0) return NULL;
  int fd = shm_open(name, O_RDWR, 0);
  if (fd < 0) return throw_errno(env, errno, "shm_open", name);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "fstat", name);
  }
  if (st.st_size <= 0) {
    close(fd);
    return throw_errno(env, EINVAL, "attach of an empty object", name);
  }
  return map_fd(env, fd, (size_t)st.st_size, name);
}

static napi_value js_unmap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) return throw_code(env, "EINVAL", "unmap(buffer)");
  bool is_ab = false;
  if (napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab) {
    return throw_code(env, "EINVAL", "unmap expects the ArrayBuffer of a mapping");
  }
  mapping_t *m = NULL;
  /* No wrap: already unmapped (or not ours); closing twice is a no-op. */
  if (napi_remove_wrap(env, argv[0], (void **)&m) != napi_ok || m == NULL) {
    napi_value exc;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) napi_get_and_clear_last_exception(env, &exc);
    return undefined;
  }
  void *addr = m->addr;
  size_t len = m->len;
  m->unmapped = 1;
  /* Detach first so JS sees a zero-length buffer instead of touching unmapped pages. */
  if (napi_detach_arraybuffer(env, argv[0]) != napi_ok) {
    m->unmapped = 0;
    return throw_code(env, "EUNKNOWN", "napi_detach_arraybuffer failed");
  }
  if (munmap(addr, len) != 0) return throw_errno(env, errno, "munmap", NULL);
  return undefined;
}

static napi_value js_unlink(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) return throw_code(env, "EINVAL", "unlink(name)");
  char name[NAME_MAX + 2];
  if (read_name(env, argv[0], name) != 0) return NULL;
  napi_value result;
  if (shm_unlink(name) != 0) {
    if (errno != ENOENT) return throw_errno(env, errno, "shm_unlink", name);
    napi_get_boolean(env, false, &result);
    return result;
  }
  napi_get_boolean(env, true, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"create", NULL, js_create, NULL, NULL, NULL, napi_enumerable, NULL},
      {"attach", NULL, js_attach, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unmap", NULL, js_unmap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unlink", NULL, js_unlink, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
