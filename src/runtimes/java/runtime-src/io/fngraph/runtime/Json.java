package io.fngraph.runtime;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Minimal JSON for the instance protocol and handler arguments (no dependencies inside the sandbox). */
final class Json {
    private final String s;
    private int i;

    private Json(String s) {
        this.s = s;
    }

    /** Map, List, String, Long, Double, Boolean or null; throws IllegalArgumentException. */
    static Object parse(String text) {
        Json p = new Json(text);
        p.ws();
        Object v = p.value();
        p.ws();
        if (p.i != p.s.length()) throw p.err("trailing characters");
        return v;
    }

    private IllegalArgumentException err(String m) {
        return new IllegalArgumentException("JSON " + m + " at " + i);
    }

    private void ws() {
        while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++;
    }

    private Object value() {
        if (i >= s.length()) throw err("unexpected end");
        char c = s.charAt(i);
        if (c == '{') {
            i++;
            Map<String, Object> m = new LinkedHashMap<>();
            ws();
            if (peek('}')) return m;
            for (;;) {
                ws();
                String k = string();
                ws();
                expect(':');
                ws();
                m.put(k, value());
                ws();
                if (peek('}')) return m;
                expect(',');
            }
        }
        if (c == '[') {
            i++;
            List<Object> l = new ArrayList<>();
            ws();
            if (peek(']')) return l;
            for (;;) {
                ws();
                l.add(value());
                ws();
                if (peek(']')) return l;
                expect(',');
            }
        }
        if (c == '"') return string();
        if (s.startsWith("true", i)) {
            i += 4;
            return Boolean.TRUE;
        }
        if (s.startsWith("false", i)) {
            i += 5;
            return Boolean.FALSE;
        }
        if (s.startsWith("null", i)) {
            i += 4;
            return null;
        }
        int start = i;
        while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
        String num = s.substring(start, i);
        if (num.isEmpty()) throw err("unexpected character");
        try {
            if (num.indexOf('.') < 0 && num.indexOf('e') < 0 && num.indexOf('E') < 0) return Long.parseLong(num);
            return Double.parseDouble(num);
        } catch (NumberFormatException e) {
            return Double.parseDouble(num);
        }
    }

    private boolean peek(char c) {
        if (i < s.length() && s.charAt(i) == c) {
            i++;
            return true;
        }
        return false;
    }

    private void expect(char c) {
        if (!peek(c)) throw err("expected '" + c + "'");
    }

    private String string() {
        expect('"');
        StringBuilder b = new StringBuilder();
        for (;;) {
            if (i >= s.length()) throw err("unterminated string");
            char c = s.charAt(i++);
            if (c == '"') return b.toString();
            if (c != '\\') {
                b.append(c);
                continue;
            }
            char e = s.charAt(i++);
            switch (e) {
                case 'n': b.append('\n'); break;
                case 't': b.append('\t'); break;
                case 'r': b.append('\r'); break;
                case 'b': b.append('\b'); break;
                case 'f': b.append('\f'); break;
                case 'u':
                    b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                    i += 4;
                    break;
                default: b.append(e);
            }
        }
    }

    /** JSON text of maps, collections, arrays, strings, numbers, booleans, null and POJOs (fields). */
    static String stringify(Object v) {
        StringBuilder b = new StringBuilder();
        write(b, v, 0);
        return b.toString();
    }

    private static void write(StringBuilder b, Object v, int depth) {
        if (depth > 64) throw new IllegalArgumentException("object too deep (a cycle?)");
        if (v == null) b.append("null");
        else if (v instanceof String || v instanceof Character || v instanceof Enum) quote(b, v.toString());
        else if (v instanceof Boolean) b.append(v.toString());
        else if (v instanceof Number) {
            double d = ((Number) v).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) b.append("null");
            else b.append(v.toString());
        } else if (v instanceof Map) {
            b.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (!first) b.append(',');
                first = false;
                quote(b, String.valueOf(e.getKey()));
                b.append(':');
                write(b, e.getValue(), depth + 1);
            }
            b.append('}');
        } else if (v instanceof Collection) {
            b.append('[');
            boolean first = true;
            for (Object o : (Collection<?>) v) {
                if (!first) b.append(',');
                first = false;
                write(b, o, depth + 1);
            }
            b.append(']');
        } else if (v.getClass().isArray()) {
            b.append('[');
            for (int k = 0; k < Array.getLength(v); k++) {
                if (k > 0) b.append(',');
                write(b, Array.get(v, k), depth + 1);
            }
            b.append(']');
        } else {
            b.append('{');
            boolean first = true;
            for (Class<?> c = v.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
                for (Field f : c.getDeclaredFields()) {
                    int mod = f.getModifiers();
                    if (Modifier.isStatic(mod) || Modifier.isTransient(mod) || f.isSynthetic()) continue;
                    try {
                        f.setAccessible(true);
                        Object fv = f.get(v);
                        if (!first) b.append(',');
                        first = false;
                        quote(b, f.getName());
                        b.append(':');
                        write(b, fv, depth + 1);
                    } catch (ReflectiveOperationException | RuntimeException e) {
                        // inaccessible field: left out
                    }
                }
            }
            b.append('}');
        }
    }

    private static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
            }
        }
        b.append('"');
    }

    /** Convert a parsed JSON value to `type` (String, boxed/primitive numbers, Map, List, POJO by fields). */
    @SuppressWarnings("unchecked")
    static Object convert(Object v, Class<?> type) throws ReflectiveOperationException {
        if (v == null) return type.isPrimitive() ? convert(0L, type) : null;
        if (type == Object.class || type.isInstance(v)) return v;
        if (type == String.class) return v instanceof String ? v : stringify(v);
        if (v instanceof Number) {
            Number n = (Number) v;
            if (type == int.class || type == Integer.class) return n.intValue();
            if (type == long.class || type == Long.class) return n.longValue();
            if (type == double.class || type == Double.class) return n.doubleValue();
            if (type == float.class || type == Float.class) return n.floatValue();
            if (type == short.class || type == Short.class) return n.shortValue();
            if (type == byte.class || type == Byte.class) return n.byteValue();
        }
        if ((type == boolean.class || type == Boolean.class) && v instanceof Boolean) return v;
        if (v instanceof String && (type == int.class || type == Integer.class)) return Integer.parseInt((String) v);
        if (v instanceof Map) {
            Object o = type.getDeclaredConstructor().newInstance();
            for (Map.Entry<String, Object> e : ((Map<String, Object>) v).entrySet()) {
                Field f = findField(type, e.getKey());
                if (f == null || Modifier.isStatic(f.getModifiers())) continue;
                f.setAccessible(true);
                f.set(o, convert(e.getValue(), f.getType()));
            }
            return o;
        }
        throw new IllegalArgumentException("cannot convert " + v.getClass().getSimpleName() + " to " + type.getName());
    }

    private static Field findField(Class<?> type, String name) {
        for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
            try {
                return c.getDeclaredField(name);
            } catch (NoSuchFieldException e) {
                // try the superclass
            }
        }
        return null;
    }
}
