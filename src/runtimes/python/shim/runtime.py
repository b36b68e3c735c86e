# fngraph Python runtime shim. Runs INSIDE the sandbox: stdlib only, Python 3.7+ syntax.
# Speaks the instance protocol (src/runtimes/PROTOCOL.md) on fd 3: 4-byte big-endian length +
# UTF-8 JSON per frame. stdout/stderr belong to the function. Each invocation runs on its own
# thread, so several can be in flight at once.
import importlib
import os
import resource
import struct
import sys
import threading
import time

# The queue and socket modules cost ~5 ms of every cold start (socket pulls in selectors, enum):
# fd 3 is read and written with os.read/os.write, and the queue is queue.SimpleQueue's C type.
# Likewise json (~6.5 ms: its decoder compiles regular expressions, and pulls in re and enum):
# the shim uses `_json`, the C module it is built on. Not so threading (~3 ms): imported first by
# a function's call on a worker thread, it would take that thread for the main thread.
from _queue import SimpleQueue


# ---- JSON --------------------------------------------------------------------------------------
# json.loads and json.dumps as the json package runs them on CPython (its C scanner and encoder),
# without importing the package. Where `_json` is missing or answers otherwise than expected, the
# json package it is.
def _json_codec():
    import _json

    class _Options:
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        parse_constant = {
            "-Infinity": float("-inf"),
            "Infinity": float("inf"),
            "NaN": float("nan"),
        }.__getitem__

    scan = _json.make_scanner(_Options())
    space = " \t\n\r"

    def loads(s):
        if not isinstance(s, str):
            raise TypeError("the JSON object must be str, not %s" % type(s).__name__)
        n = len(s)
        i = 0
        while i < n and s[i] in space:
            i += 1
        try:
            obj, end = scan(s, i)
        except StopIteration as err:
            raise ValueError("Expecting value: char %d" % err.value) from None
        while end < n and s[end] in space:
            end += 1
        if end != n:
            raise ValueError("Extra data: char %d" % end)
        return obj

    def default(o):
        raise TypeError("Object of type %s is not JSON serializable" % o.__class__.__name__)

    def encoder(escape):
        def dumps(obj):
            # A fresh markers dict per call, as json.dumps has: a failed call may leave entries.
            chunks = _json.make_encoder({}, default, escape, None, ": ", ", ", False, False, True)(
                obj, 0
            )
            return "".join(chunks)

        return dumps

    dumps_ascii = encoder(_json.encode_basestring_ascii)
    dumps_utf8 = encoder(_json.encode_basestring)
    sample = {"a": [1, 2.5, "\u00e9\n\"", None, True, {}], "b": float("nan")}
    if (
        dumps_ascii(sample) != r'{"a": [1, 2.5, "\u00e9\n\"", null, true, {}], "b": NaN}'
        or dumps_utf8("\u00e9") != '"\u00e9"'
        or loads(r' [1, 2.5, "\u00e9", null, {"a": []}] ') != [1, 2.5, "\u00e9", None, {"a": []}]
    ):
        raise ValueError("_json is not the json package's engine here")
    return loads, dumps_ascii, dumps_utf8


try:
    _loads, _dumps, _dumps_utf8 = _json_codec()
except Exception:
    import json

    _loads = json.loads
    _dumps = json.dumps

    def _dumps_utf8(obj):
        return json.dumps(obj, ensure_ascii=False)


_FD = 3
# fd 3 may arrive non-blocking; this end must block (a read waits for the next frame).
os.set_blocking(_FD, True)
_send_lock = threading.Lock()
_handler = None
_loaded = False


def _send(msg):
    body = _dumps(msg).encode("utf-8")
    data = memoryview(struct.pack(">I", len(body)) + body)
    with _send_lock:
        while data:
            data = data[os.write(_FD, data) :]


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _read_exact(n):
    parts = []
    while n > 0:
        chunk = os.read(_FD, min(n, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


# ---- errors ------------------------------------------------------------------------------------
def _payload(prefix, exc, with_stack):
    out = {"errorMessage": prefix + str(exc), "errorType": type(exc).__name__}
    if with_stack:
        import traceback

        frames = traceback.extract_tb(exc.__traceback__)
        # Drop the shim's own frames: the user's start at the first frame outside this file.
        user = [f for f in frames if f.filename != __file__] or list(frames)
        out["stackTrace"] = [
            line.rstrip("\n") for line in traceback.format_list(user)
        ]
    return out


# ---- context -----------------------------------------------------------------------------------
_LEVELS = {"DEBUG": 0, "INFO": 1, "WARN": 2, "WARNING": 2, "ERROR": 3}


class _Logger(object):
    def __init__(self, request_id):
        self._request_id = request_id
        self._min = 1

    def setLevel(self, level):
        key = str(level).upper()
        if key in _LEVELS:
            self._min = _LEVELS[key]

    def _log(self, level, args):
        if _LEVELS[level] < self._min:
            return
        text = " ".join(str(a) for a in args)
        now = time.time()
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        ms = int(now * 1000) % 1000
        sys.stdout.write("%s.%03dZ %s %s %s\n" % (ts, ms, self._request_id, level, text))

    def debug(self, *args):
        self._log("DEBUG", args)

    def info(self, *args):
        self._log("INFO", args)

    def warn(self, *args):
        self._log("WARN", args)

    warning = warn

    def error(self, *args):
        self._log("ERROR", args)


class Context(object):
    # c: the call's context; b: where its fixed fields are (PROTOCOL.md, `context`), c itself
    # unless the host sent them ahead.
    def __init__(self, c, b=None):
        self._c = c
        self._b = c if b is None else b
        self._h = c.get("headers") or {}
        self._ud = self._b.get("userData") or {}
        self._logger = None

    def getRemainingTimeInMilliSeconds(self):
        return max(0, int(self._c.get("deadline", 0) - time.time() * 1000))

    def getSecurityAccessKey(self):
        return self._h.get("x-cff-security-access-key") or self.getAccessKey()

    def getSecuritySecretKey(self):
        return self._h.get("x-cff-security-secret-key") or self.getSecretKey()

    def getUserData(self, key, default=None):
        return self._ud.get(key, default)

    def getLogger(self):
        if self._logger is None:
            self._logger = _Logger(self.getRequestID())
        return self._logger


def _getter(table, key, default):
    return lambda self: getattr(self, table).get(key, default)


# The plain getters: method -> (field of the call's context, of its fixed part or of its headers,
# default).
for _name, _table, _key, _default in (
    ("getRequestID", "_c", "requestId", ""),
    ("getRunningTimeInSeconds", "_b", "timeoutSeconds", 0),
    ("getAccessKey", "_b", "accessKey", ""),
    ("getSecretKey", "_b", "secretKey", ""),
    ("getSecurityToken", "_b", "securityToken", ""),
    ("getToken", "_b", "authToken", ""),
    ("getFunctionName", "_b", "functionName", ""),
    ("getVersion", "_b", "version", ""),
    ("getMemorySize", "_b", "memorySize", 0),
    ("getCPUNumber", "_b", "cpuMillicores", 0),
    ("getProjectID", "_b", "projectId", ""),
    ("getPackage", "_b", "package", ""),
    ("getAlias", "_b", "alias", ""),
    ("getInvokeType", "_b", "invokeType", "sync"),
    ("getWorkflowID", "_h", "x-cff-workflow-id", ""),
    ("getWorkflowRunID", "_h", "x-cff-workflow-run-id", ""),
    ("getWorkflowStateID", "_h", "x-cff-workflow-state-id", ""),
):
    setattr(Context, _name, _getter(_table, _key, _default))


def _init_context(timeout_ms):
    env = os.environ
    try:
        user_data = _loads(env.get("RUNTIME_USERDATA") or "{}") or {}
    except ValueError:
        user_data = {}

    def num(name):
        try:
            return int(env.get(name, "0"))
        except ValueError:
            return 0

    return Context(
        {
            "requestId": "",
            "functionName": env.get("RUNTIME_FUNC_NAME", ""),
            "version": env.get("RUNTIME_FUNC_VERSION", ""),
            "alias": env.get("RUNTIME_ALIAS", ""),
            "package": env.get("RUNTIME_PACKAGE", ""),
            "projectId": env.get("RUNTIME_PROJECT_ID", ""),
            "memorySize": num("RUNTIME_MEMORY"),
            "cpuMillicores": num("RUNTIME_CPU"),
            "timeoutSeconds": num("RUNTIME_TIMEOUT"),
            "deadline": time.time() * 1000 + timeout_ms,
            "userData": user_data,
        }
    )


# ---- loading -----------------------------------------------------------------------------------
def _resolve(handler):
    mod_name, sep, fn_name = handler.rpartition(".")
    if not sep or not mod_name or not fn_name:
        raise ValueError("handler '%s' is not of the form <module>.<function>" % handler)
    module = importlib.import_module(mod_name.replace("/", "."))
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise TypeError("'%s' in module '%s' is not a function" % (fn_name, mod_name))
    return fn


def _load(msg):
    global _handler, _loaded, _measure_rss
    if _loaded:
        sys.stderr.write("fngraph runtime: duplicate load ignored\n")
        return
    _loaded = True
    if msg.get("measureRss") is False:
        _measure_rss = False
    for key, value in (msg.get("env") or {}).items():
        os.environ[key] = str(value)
    root = os.environ.get("RUNTIME_CODE_ROOT") or os.getcwd()
    try:
        os.chdir(root)
        for extra in (os.path.join(root, "python"), root):
            if extra not in sys.path:
                sys.path.insert(0, extra)
        # A prewarmed runtime saw the code dir empty at boot; forget the cached listings.
        importlib.invalidate_caches()
        handler = _resolve(msg["handler"])
    except BaseException as exc:  # SyntaxError, ImportError, SystemExit in module code …
        _flush()
        _send(
            {
                "type": "load_error",
                "errorCode": 4001,
                "error": _payload("function entry exception, error: ", exc, True),
            }
        )
        return
    initializer = msg.get("initializer")
    # Time spent in the initializer (0 without one): the host reports it apart from the load.
    init_ms = 0.0
    if initializer:
        try:
            init = _resolve(initializer)
            init_start = time.perf_counter()
            init(_init_context(msg.get("initializerTimeoutMs") or 0))
            init_ms = (time.perf_counter() - init_start) * 1000.0
        except BaseException as exc:
            _flush()
            _send(
                {
                    "type": "load_error",
                    "errorCode": 4009,
                    "error": _payload("function initialization exception: ", exc, True),
                }
            )
            return
    _handler = handler
    _flush()
    _send({"type": "loaded", "initMs": init_ms})


# ---- invoking ----------------------------------------------------------------------------------
def _serialize(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return _dumps_utf8(value)


def _max_rss_kb():
    # Peak RSS since the last clear_refs write (the kernel resets the high-water mark).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# False when the load message says the sandbox measures each call's peak (a cgroup): the shim
# then skips the clear_refs write and the getrusage call.
_measure_rss = True


def _clear_refs():
    if not _measure_rss:
        return
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _failed(rid, code, prefix, exc, with_stack):
    error = _payload(prefix, exc, with_stack)
    return {"type": "result", "id": rid, "ok": False, "errorCode": code, "error": error}


def _invoke(msg):
    rid = msg["id"]
    _clear_refs()
    raw = msg.get("event", "")
    try:
        event = _loads(raw)
    except ValueError:
        event = raw
    start = time.perf_counter()
    try:
        value = _handler(event, Context(msg.get("context") or {}, msg.get("_fixed")))
        try:
            reply = {"type": "result", "id": rid, "ok": True, "result": _serialize(value)}
        except Exception as exc:
            reply = _failed(rid, 4007, "function result is invalid, error: ", exc, False)
    except MemoryError as exc:
        reply = _failed(rid, 4205, "runtime memory limit exceeded: ", exc, True)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt included: the user's doing
        reply = _failed(rid, 4002, "function invocation exception, error: ", exc, True)
    reply["durationMs"] = (time.perf_counter() - start) * 1000.0
    _flush()
    reply["maxRssKb"] = _max_rss_kb() if _measure_rss else 0
    _send(reply)


def _run_invoke(msg):
    try:
        _invoke(msg)
    except BaseException as exc:
        sys.stderr.write("fngraph runtime: invoke failed: %r\n" % (exc,))
        _flush()


# Worker threads stay alive between invocations: starting a thread costs ~100 µs, handing work
# to an idle one ~15 µs. The pool grows to the peak concurrency seen.
_work = SimpleQueue()
_idle = 0
_idle_lock = threading.Lock()


def _worker(msg):
    global _idle
    while True:
        _run_invoke(msg)
        with _idle_lock:
            _idle += 1
        msg = _work.get()


def _dispatch(msg):
    global _idle
    with _idle_lock:
        if _idle > 0:
            _idle -= 1
            _work.put(msg)
            return
    threading.Thread(target=_worker, args=(msg,), daemon=True).start()


def _not_loaded(msg):
    _send(
        {
            "type": "result",
            "id": msg.get("id"),
            "ok": False,
            "errorCode": 4001,
            "error": {"errorMessage": "function not loaded", "errorType": "RuntimeError"},
            "durationMs": 0,
            "maxRssKb": 0,
        }
    )


def main():
    # The fixed part of the contexts of the invokes that follow (a `context` message), if any.
    base = None
    _send({"type": "ready", "baseContext": True})
    while True:
        header = _read_exact(4)
        if header is None:
            break
        body = _read_exact(struct.unpack(">I", header)[0])
        if body is None:
            break
        try:
            msg = _loads(body.decode("utf-8"))
        except ValueError as exc:
            sys.stderr.write("fngraph runtime: bad frame: %s\n" % exc)
            continue
        kind = msg.get("type")
        if kind == "load":
            _load(msg)
        elif kind == "warm":
            pass  # nothing to compile ahead: CPython has no lazy JIT to warm
        elif kind == "context":
            base = msg.get("context") if isinstance(msg.get("context"), dict) else None
        elif kind == "invoke":
            if _handler is None:
                _not_loaded(msg)
            else:
                # Taken here, in frame order: a later `context` is for later invokes. An invoke
                # that carries its fixed fields (functionName among them) is whole.
                ctx = msg.get("context")
                if base is not None and isinstance(ctx, dict) and "functionName" not in ctx:
                    msg["_fixed"] = base
                _dispatch(msg)
        else:
            sys.stderr.write("fngraph runtime: unknown message type %r\n" % (kind,))
    # EOF on fd 3: the host is done with this instance.
    _flush()
    os._exit(0)


if __name__ == "__main__":
    main()
