package io.fngraph.runtime;

import com.huawei.services.runtime.Context;
import com.huawei.services.runtime.RuntimeLogger;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * fngraph Java runtime. Runs INSIDE the sandbox and speaks the instance protocol
 * (src/runtimes/PROTOCOL.md) on fd 3; stdout/stderr belong to the function. Handler
 * `pkg.Class.method`: `method(<In> event, Context context)` (or `method(<In> event)`), found in
 * the JARs at the code root and in `lib/`, or in classes at the code root. Calls run on a pool of
 * threads, like the other runtimes.
 */
public final class Main {
    private static OutputStream out;
    private static Method handler;
    private static Object target;
    private static final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fngraph-invoke");
        t.setDaemon(true);
        return t;
    });

    public static void main(String[] args) throws Exception {
        FileDescriptor fd = new FileDescriptor();
        Field f = FileDescriptor.class.getDeclaredField("fd");
        f.setAccessible(true);
        f.setInt(fd, 3);
        out = new FileOutputStream(fd);
        DataInputStream in = new DataInputStream(new FileInputStream(fd));
        send(map("type", "ready"));
        for (;;) {
            byte[] frame;
            try {
                int len = in.readInt();
                frame = new byte[len];
                in.readFully(frame);
            } catch (EOFException e) {
                System.out.flush();
                System.exit(0);
                return;
            }
            Object msg = Json.parse(new String(frame, StandardCharsets.UTF_8));
            if (!(msg instanceof Map)) continue;
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) msg;
            Object type = m.get("type");
            if ("load".equals(type)) load(m);
            else if ("invoke".equals(type)) pool.submit(() -> invoke(m));
        }
    }

    static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int k = 0; k + 1 < kv.length; k += 2) m.put((String) kv[k], kv[k + 1]);
        return m;
    }

    static synchronized void send(Map<String, Object> msg) {
        try {
            byte[] body = Json.stringify(msg).getBytes(StandardCharsets.UTF_8);
            byte[] head = {(byte) (body.length >>> 24), (byte) (body.length >>> 16), (byte) (body.length >>> 8), (byte) body.length};
            out.write(head);
            out.write(body);
            out.flush();
        } catch (IOException e) {
            System.exit(0);
        }
    }

    private static Map<String, Object> error(String message, Throwable t) {
        Map<String, Object> e = map("errorMessage", message, "errorType", t.getClass().getName());
        List<String> trace = new ArrayList<>();
        for (StackTraceElement el : t.getStackTrace()) {
            if (el.getClassName().startsWith("io.fngraph.runtime.") || el.getClassName().startsWith("jdk.internal.reflect.")) continue;
            trace.add(el.toString());
        }
        e.put("stackTrace", trace);
        return e;
    }

    static String env(String k) {
        String v = Env.get(k);
        return v == null ? "" : v;
    }

    private static void load(Map<String, Object> m) {
        @SuppressWarnings("unchecked")
        Map<String, Object> env = (Map<String, Object>) m.get("env");
        for (Map.Entry<String, Object> e : env.entrySet()) Env.put(e.getKey(), String.valueOf(e.getValue()));
        String root = env("RUNTIME_CODE_ROOT").isEmpty() ? "/opt/function/code" : env("RUNTIME_CODE_ROOT");
        String h = String.valueOf(m.get("handler"));
        ClassLoader loader;
        try {
            loader = classLoader(root);
            Method[] found = find(loader, h, false);
            handler = found[0];
            target = Modifier.isStatic(handler.getModifiers()) ? null : instance(handler.getDeclaringClass());
            Thread.currentThread().setContextClassLoader(loader);
        } catch (Throwable t) {
            Throwable c = t instanceof InvocationTargetException ? t.getCause() : t;
            send(map("type", "load_error", "errorCode", 4001, "error", error("function entry exception, error: " + c, c)));
            return;
        }
        String init = String.valueOf(m.getOrDefault("initializer", ""));
        if (!init.isEmpty()) {
            try {
                Method im = find(loader, init, true)[0];
                Object it = Modifier.isStatic(im.getModifiers()) ? null : instance(im.getDeclaringClass());
                long budget = ((Number) m.getOrDefault("initializerTimeoutMs", 3000L)).longValue();
                Map<String, Object> ctx = map("requestId", "", "deadline", (double) (System.currentTimeMillis() + budget));
                im.invoke(it, new Ctx(ctx));
            } catch (Throwable t) {
                Throwable c = t instanceof InvocationTargetException ? t.getCause() : t;
                System.out.flush();
                send(map("type", "load_error", "errorCode", 4009, "error", error("function initialization exception: " + c.getMessage(), c)));
                return;
            }
        }
        System.out.flush();
        send(map("type", "loaded"));
    }

    private static Object instance(Class<?> c) throws ReflectiveOperationException {
        java.lang.reflect.Constructor<?> k = c.getDeclaredConstructor();
        k.setAccessible(true);
        return k.newInstance();
    }

    private static ClassLoader classLoader(String root) throws IOException {
        List<URL> urls = new ArrayList<>();
        for (String dir : new String[] {root, root + "/lib"}) {
            File[] files = new File(dir).listFiles((d, n) -> n.endsWith(".jar"));
            if (files == null) continue;
            java.util.Arrays.sort(files);
            for (File jar : files) urls.add(jar.toURI().toURL());
        }
        urls.add(new File(root + "/").toURI().toURL());
        return new URLClassLoader(urls.toArray(new URL[0]), Main.class.getClassLoader());
    }

    /** `pkg.Class.method` → the public method; for the initializer a one-parameter (Context) one. */
    private static Method[] find(ClassLoader loader, String spec, boolean initializer) throws ReflectiveOperationException {
        int dot = spec.lastIndexOf('.');
        if (dot <= 0) throw new IllegalArgumentException("handler must look like package.Class.method: " + spec);
        Class<?> c = Class.forName(spec.substring(0, dot), true, loader);
        String name = spec.substring(dot + 1);
        Method best = null;
        for (Method meth : c.getMethods()) {
            if (!meth.getName().equals(name)) continue;
            Class<?>[] p = meth.getParameterTypes();
            boolean ok = initializer
                    ? p.length == 1 && p[0].isAssignableFrom(Ctx.class)
                    : (p.length == 2 && p[1].isAssignableFrom(Ctx.class)) || p.length == 1;
            if (ok && (best == null || p.length > best.getParameterCount())) best = meth;
        }
        if (best == null) throw new NoSuchMethodException("no public method " + name + (initializer ? "(Context)" : "(event, Context)") + " in " + c.getName());
        return new Method[] {best};
    }

    private static long maxRssKb() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (IOException | RuntimeException e) {
            // unknown: the host takes the cgroup peak
        }
        return 0;
    }

    @SuppressWarnings("unchecked")
    private static void invoke(Map<String, Object> m) {
        long t0 = System.nanoTime();
        try {
            Files.write(Paths.get("/proc/self/clear_refs"), "5".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException | RuntimeException e) {
            // not permitted: the peak then covers the process lifetime
        }
        Map<String, Object> reply = map("type", "result", "id", m.get("id"));
        try {
            String raw = String.valueOf(m.get("event"));
            Class<?> in = handler.getParameterTypes()[0];
            Object event;
            if (in == String.class) event = raw;
            else if (in == byte[].class) event = raw.getBytes(StandardCharsets.UTF_8);
            else event = Json.convert(Json.parse(raw), in);
            Ctx ctx = new Ctx((Map<String, Object>) m.get("context"));
            Object result = handler.getParameterCount() == 2 ? handler.invoke(target, event, ctx) : handler.invoke(target, event);
            String text;
            if (result == null) text = "";
            else if (result instanceof String) text = (String) result;
            else if (result instanceof byte[]) text = new String((byte[]) result, StandardCharsets.UTF_8);
            else {
                try {
                    text = Json.stringify(result);
                } catch (RuntimeException e) {
                    reply.put("ok", false);
                    reply.put("errorCode", 4007);
                    reply.put("error", map("errorMessage", "function result is invalid, error: " + e.getMessage(), "errorType", e.getClass().getName()));
                    text = null;
                }
            }
            if (text != null) {
                reply.put("ok", true);
                reply.put("result", text);
            }
        } catch (Throwable t) {
            Throwable c = t instanceof InvocationTargetException ? t.getCause() : t;
            boolean oom = c instanceof OutOfMemoryError;
            reply.put("ok", false);
            reply.put("errorCode", oom ? 4205 : 4002);
            reply.put("error", error((oom ? "runtime memory limit exceeded: " : "function invocation exception, error: ") + c.getMessage(), c));
        }
        System.out.flush();
        System.err.flush();
        reply.put("durationMs", (System.nanoTime() - t0) / 1e6);
        reply.put("maxRssKb", maxRssKb());
        send(reply);
    }

    /** Process environment plus the `load` message's variables (Java cannot change its own env). */
    static final class Env {
        private static final Map<String, String> vars = Collections.synchronizedMap(new LinkedHashMap<>(System.getenv()));

        static String get(String k) {
            return vars.get(k);
        }

        private static Map<String, String> live;

        /** Also into System.getenv(): HTTP-style code reads its variables from the environment. */
        @SuppressWarnings("unchecked")
        static void put(String k, String v) {
            vars.put(k, v);
            try {
                if (live == null) {
                    Class<?> pe = Class.forName("java.lang.ProcessEnvironment");
                    Field f = pe.getDeclaredField("theUnmodifiableEnvironment");
                    f.setAccessible(true);
                    Object unmod = f.get(null);
                    Field m = unmod.getClass().getDeclaredField("m");
                    m.setAccessible(true);
                    live = (Map<String, String>) m.get(unmod);
                }
                live.put(k, v);
            } catch (ReflectiveOperationException | RuntimeException e) {
                // not opened (--add-opens missing): Context.getUserData still works
            }
        }
    }

    static final class Logger implements RuntimeLogger {
        private static final String[] LEVELS = {"DEBUG", "INFO", "WARN", "ERROR"};
        private final String requestId;
        private volatile int level = 1;

        Logger(String requestId) {
            this.requestId = requestId;
        }

        private void write(int l, String msg) {
            if (l < level) return;
            PrintStream o = System.out;
            o.println(Instant.now().toString().replaceFirst("(\\.\\d{3})\\d*Z$", "$1Z") + " " + requestId + " " + LEVELS[l] + " " + msg);
        }

        @Override public void log(String m) { write(1, m); }
        @Override public void debug(String m) { write(0, m); }
        @Override public void info(String m) { write(1, m); }
        @Override public void warn(String m) { write(2, m); }
        @Override public void error(String m) { write(3, m); }

        @Override
        public void setLevel(String l) {
            for (int k = 0; k < LEVELS.length; k++) if (LEVELS[k].equalsIgnoreCase(l)) level = k;
        }
    }

    /** Context of contract §3.2 from the invoke message's context (or, for the initializer, the env). */
    static final class Ctx implements Context {
        private final Map<String, Object> c;
        private final Logger logger;

        Ctx(Map<String, Object> c) {
            this.c = c;
            this.logger = new Logger(s("requestId"));
        }

        private String s(String k) {
            Object v = c.get(k);
            return v == null ? "" : String.valueOf(v);
        }

        private long n(String k, String envKey) {
            Object v = c.get(k);
            if (v instanceof Number) return ((Number) v).longValue();
            try {
                return Long.parseLong(env(envKey));
            } catch (NumberFormatException e) {
                return 0;
            }
        }

        private String h(String k) {
            Object hs = c.get("headers");
            Object v = hs instanceof Map ? ((Map<?, ?>) hs).get(k) : null;
            return v == null ? "" : String.valueOf(v);
        }

        private String or(String k, String envKey) {
            String v = s(k);
            return v.isEmpty() ? env(envKey) : v;
        }

        @Override public String getRequestID() { return s("requestId"); }
        @Override public long getRemainingTimeInMilliSeconds() { return Math.max(0, n("deadline", "") - System.currentTimeMillis()); }
        @Override public int getRunningTimeInSeconds() { return (int) n("timeoutSeconds", "RUNTIME_TIMEOUT"); }
        @Override public String getAccessKey() { return s("accessKey"); }
        @Override public String getSecretKey() { return s("secretKey"); }
        @Override public String getSecurityAccessKey() { String v = h("x-cff-security-access-key"); return v.isEmpty() ? s("accessKey") : v; }
        @Override public String getSecuritySecretKey() { String v = h("x-cff-security-secret-key"); return v.isEmpty() ? s("secretKey") : v; }
        @Override public String getSecurityToken() { return s("securityToken"); }
        @Override public String getToken() { return s("authToken"); }

        @Override
        public String getUserData(String key) {
            Object u = c.get("userData");
            if (u instanceof Map) {
                Object v = ((Map<?, ?>) u).get(key);
                return v == null ? null : String.valueOf(v);
            }
            try {
                Object all = Json.parse(env("RUNTIME_USERDATA").isEmpty() ? "{}" : env("RUNTIME_USERDATA"));
                Object v = all instanceof Map ? ((Map<?, ?>) all).get(key) : null;
                return v == null ? null : String.valueOf(v);
            } catch (RuntimeException e) {
                return null;
            }
        }

        @Override public String getFunctionName() { return or("functionName", "RUNTIME_FUNC_NAME"); }
        @Override public String getVersion() { return or("version", "RUNTIME_FUNC_VERSION"); }
        @Override public int getMemorySize() { return (int) n("memorySize", "RUNTIME_MEMORY"); }
        @Override public int getCPUNumber() { return (int) n("cpuMillicores", "RUNTIME_CPU"); }
        @Override public String getProjectID() { return or("projectId", "RUNTIME_PROJECT_ID"); }
        @Override public String getPackage() { return or("package", "RUNTIME_PACKAGE"); }
        @Override public String getAlias() { return s("alias"); }
        @Override public String getInvokeType() { String v = s("invokeType"); return v.isEmpty() ? "sync" : v; }
        @Override public RuntimeLogger getLogger() { return logger; }
        @Override public String getWorkflowID() { return h("x-cff-workflow-id"); }
        @Override public String getWorkflowRunID() { return h("x-cff-workflow-run-id"); }
        @Override public String getWorkflowStateID() { return h("x-cff-workflow-state-id"); }
    }
}
