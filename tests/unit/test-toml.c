/* test-toml.c — the TOML parser: values of every type, the tree accessors, each kind of error with its
 * line:col, the nesting limit, unterminated buffers, and a large table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "config/toml.h"
#include "util.h"

static void rootp(struct toml_value **v)
{
        toml_value_free(*v);
}
#define _cleanup_toml_ _cleanup_(rootp)

/* Parses a NUL-terminated document that must be valid. */
static struct toml_value *parse_ok(const char *doc)
{
        struct coi_error err = { 0 };
        struct toml_value *root = NULL;
        int r = toml_parse(doc, strlen(doc), "test.toml", &root, &err);
        if (r < 0)
                fail_msg("unexpected error: %s\n--- document:\n%s", err.msg, doc);
        assert_non_null(root);
        return root;
}

/* Parses a document that must be rejected with exactly this message. */
static void assert_parse_error(const char *doc, size_t len, const char *want)
{
        struct coi_error err = { 0 };
        struct toml_value *root = (struct toml_value *)0x1; /* must stay untouched */
        int r = toml_parse(doc, len, "test.toml", &root, &err);
        if (r >= 0)
                fail_msg("accepted invalid document:\n%s", doc);
        assert_int_equal(r, -EINVAL);
        assert_int_equal(err.code, EINVAL);
        assert_string_equal(err.msg, want);
        assert_ptr_equal(root, (struct toml_value *)0x1);
}
#define assert_error(doc, want) assert_parse_error((doc), strlen(doc), (want))

static const char *get_str(const struct toml_value *t, const char *key)
{
        const char *s = NULL;
        assert_int_equal(toml_get_string(toml_table_get(t, key), &s, NULL), 0);
        return s;
}

static int64_t get_int(const struct toml_value *t, const char *key)
{
        int64_t i = 0;
        assert_int_equal(toml_get_integer(toml_table_get(t, key), &i), 0);
        return i;
}

static double get_float(const struct toml_value *t, const char *key)
{
        double d = 0;
        assert_int_equal(toml_get_float(toml_table_get(t, key), &d), 0);
        return d;
}

static const char *get_dt(const struct toml_value *t, const char *key, enum toml_type type)
{
        const struct toml_value *v = toml_table_get(t, key);
        assert_non_null(v);
        assert_int_equal(toml_value_type(v), type);
        const char *text = NULL;
        assert_int_equal(toml_get_datetime(v, NULL, &text), 0);
        return text;
}

static void test_strings(void **state)
{
        _cleanup_toml_ struct toml_value *root =
                parse_ok("basic = \"tab\\there \\\"q\\\" \\\\ \\u00e9 \\U0001F600 \\b\\f\\r\\n\"\n"
                         "literal = 'C:\\Users\\nobody'\n"
                         "ml = \"\"\"\nline 1\nline 2\\\n     continued\"\"\"\n"
                         "mll = '''\n  raw \\n ''quoted'' '''\n"
                         "quotes = \"\"\"\"\"x\"\"\"\"\"\n"
                         "crlf = \"\"\"a\r\nb\"\"\"\n"
                         "nul = \"a\\u0000b\"\n"
                         "utf8 = \"ünï © 😀\"\n");
        assert_string_equal(get_str(root, "basic"), "tab\there \"q\" \\ é 😀 \b\f\r\n");
        assert_string_equal(get_str(root, "literal"), "C:\\Users\\nobody");
        assert_string_equal(get_str(root, "ml"), "line 1\nline 2continued");
        assert_string_equal(get_str(root, "mll"), "  raw \\n ''quoted'' ");
        assert_string_equal(get_str(root, "quotes"), "\"\"x\"\"");
        assert_string_equal(get_str(root, "crlf"), "a\nb"); /* CRLF in a multi-line string becomes LF */
        assert_string_equal(get_str(root, "utf8"), "ünï © 😀");
        const char *s;
        size_t len;
        assert_int_equal(toml_get_string(toml_table_get(root, "nul"), &s, &len), 0);
        assert_int_equal(len, 3);
        assert_memory_equal(s, "a\0b", 3);
}

static void test_numbers(void **state)
{
        _cleanup_toml_ struct toml_value *root = parse_ok("dec = +1_000\n"
                                                          "neg = -17\n"
                                                          "zero = -0\n"
                                                          "hex = 0xDEAD_beef\n"
                                                          "oct = 0o755\n"
                                                          "bin = 0b1101\n"
                                                          "max = 9223372036854775807\n"
                                                          "min = -9223372036854775808\n"
                                                          "hexmax = 0x7FFFFFFFFFFFFFFF\n"
                                                          "f1 = 3.14_15\n"
                                                          "f2 = -2E-3\n"
                                                          "f3 = 6.02e+23\n"
                                                          "f4 = 1e06\n"
                                                          "pinf = +inf\n"
                                                          "ninf = -inf\n"
                                                          "nan = nan\n");
        assert_int_equal(get_int(root, "dec"), 1000);
        assert_int_equal(get_int(root, "neg"), -17);
        assert_int_equal(get_int(root, "zero"), 0);
        assert_int_equal(get_int(root, "hex"), 0xDEADBEEF);
        assert_int_equal(get_int(root, "oct"), 0755);
        assert_int_equal(get_int(root, "bin"), 13);
        assert_true(get_int(root, "max") == INT64_MAX);
        assert_true(get_int(root, "min") == INT64_MIN);
        assert_true(get_int(root, "hexmax") == INT64_MAX);
        assert_true(get_float(root, "f1") == 3.1415);
        assert_true(get_float(root, "f2") == -0.002);
        assert_true(get_float(root, "f3") == 6.02e23);
        assert_true(get_float(root, "f4") == 1e6);
        assert_true(isinf(get_float(root, "pinf")) && get_float(root, "pinf") > 0);
        assert_true(isinf(get_float(root, "ninf")) && get_float(root, "ninf") < 0);
        assert_true(isnan(get_float(root, "nan")));
        /* an integer may be read as a float, not the other way round */
        assert_true(get_float(root, "dec") == 1000.0);
        int64_t i;
        assert_int_equal(toml_get_integer(toml_table_get(root, "f1"), &i), -EINVAL);
        assert_int_equal(toml_value_type(toml_table_get(root, "f4")), TOML_FLOAT);
}

static void test_bool_and_datetimes(void **state)
{
        _cleanup_toml_ struct toml_value *root = parse_ok("t = true\n"
                                                          "f = false\n"
                                                          "odt = 1979-05-27 07:32:00.999999999999z\n"
                                                          "odt2 = 1979-05-27t07:32:00-07:30\n"
                                                          "ldt = 1979-05-27T07:32:00.5\n"
                                                          "ld = 2024-02-29\n"
                                                          "lt = 23:59:60.25\n");
        bool b = false;
        assert_int_equal(toml_get_bool(toml_table_get(root, "t"), &b), 0);
        assert_true(b);
        assert_int_equal(toml_get_bool(toml_table_get(root, "f"), &b), 0);
        assert_false(b);
        assert_string_equal(get_dt(root, "odt", TOML_DATETIME), "1979-05-27T07:32:00.999999999Z");
        assert_string_equal(get_dt(root, "odt2", TOML_DATETIME), "1979-05-27T07:32:00-07:30");
        assert_string_equal(get_dt(root, "ldt", TOML_DATETIME_LOCAL), "1979-05-27T07:32:00.5");
        assert_string_equal(get_dt(root, "ld", TOML_DATE_LOCAL), "2024-02-29");
        assert_string_equal(get_dt(root, "lt", TOML_TIME_LOCAL), "23:59:60.25");
        struct toml_datetime dt;
        assert_int_equal(toml_get_datetime(toml_table_get(root, "odt2"), &dt, NULL), 0);
        assert_int_equal(dt.year, 1979);
        assert_int_equal(dt.month, 5);
        assert_int_equal(dt.day, 27);
        assert_int_equal(dt.hour, 7);
        assert_int_equal(dt.minute, 32);
        assert_int_equal(dt.offset_minutes, -450);
        assert_int_equal(toml_get_datetime(toml_table_get(root, "ldt"), &dt, NULL), 0);
        assert_int_equal(dt.nanosecond, 500000000);
        assert_int_equal(toml_get_datetime(toml_table_get(root, "t"), &dt, NULL), -EINVAL);
}

static void test_tables_and_positions(void **state)
{
        _cleanup_toml_ struct toml_value *root = parse_ok("\xEF\xBB\xBF# config\n"
                                                          "name = \"x\"\n"
                                                          "\n"
                                                          "[net]\n"
                                                          "  mode = 'none'\n"
                                                          "  dns.servers = [\"1.1.1.1\", \"9.9.9.9\"]\n"
                                                          "[[mount]]\n"
                                                          "src = \"/a\"\n"
                                                          "[[mount]]\n"
                                                          "src = \"/b\"\n"
                                                          "opts = { ro = true, \"é x\" = 1 }\n");
        assert_int_equal(toml_value_type(root), TOML_TABLE);
        assert_int_equal(toml_table_size(root), 3);
        /* keys come back in document order */
        assert_string_equal(toml_table_key(root, 0, NULL), "name");
        assert_string_equal(toml_table_key(root, 1, NULL), "net");
        assert_string_equal(toml_table_key(root, 2, NULL), "mount");
        assert_null(toml_table_key(root, 3, NULL));
        assert_null(toml_table_value(root, 3));

        struct toml_pos pos = toml_table_key_pos(root, 0);
        assert_int_equal(pos.line, 2); /* the BOM is not a column */
        assert_int_equal(pos.col, 1);
        pos = toml_value_pos(toml_table_get(root, "name"));
        assert_int_equal(pos.line, 2);
        assert_int_equal(pos.col, 8);

        const struct toml_value *net = toml_table_get(root, "net");
        assert_int_equal(toml_value_type(net), TOML_TABLE);
        assert_int_equal(toml_value_pos(net).line, 4);
        assert_int_equal(toml_value_pos(net).col, 2);
        assert_non_null(toml_table_get_pos(net, "mode", &pos));
        assert_int_equal(pos.line, 5);
        assert_int_equal(pos.col, 3);
        const struct toml_value *servers = toml_table_get(toml_table_get(net, "dns"), "servers");
        assert_int_equal(toml_array_length(servers), 2);
        const char *s;
        assert_int_equal(toml_get_string(toml_array_get(servers, 1), &s, NULL), 0);
        assert_string_equal(s, "9.9.9.9");
        assert_int_equal(toml_value_pos(toml_array_get(servers, 1)).col, 29);
        assert_null(toml_array_get(servers, 2));
        assert_null(toml_table_get(net, "dns.servers")); /* no dotted lookups */

        const struct toml_value *mounts = toml_table_get(root, "mount");
        assert_int_equal(toml_value_type(mounts), TOML_ARRAY);
        assert_int_equal(toml_array_length(mounts), 2);
        assert_string_equal(get_str(toml_array_get(mounts, 0), "src"), "/a");
        const struct toml_value *opts = toml_table_get(toml_array_get(mounts, 1), "opts");
        assert_int_equal(toml_table_size(opts), 2);
        assert_non_null(toml_table_get_pos(opts, "é x", &pos));
        assert_int_equal(pos.line, 11);
        assert_int_equal(pos.col, 21); /* columns count characters, not bytes */

        /* accessors on the wrong type answer "nothing" rather than crash */
        assert_int_equal(toml_table_size(mounts), 0);
        assert_null(toml_table_get(mounts, "src"));
        assert_int_equal(toml_array_length(net), 0);
        assert_null(toml_array_get(net, 0));
        assert_int_equal(toml_get_string(net, &s, NULL), -EINVAL);
        assert_int_equal(toml_get_string(NULL, &s, NULL), -EINVAL);
        assert_string_equal(toml_type_to_string(TOML_DATETIME_LOCAL), "local date-time");
}

static void test_table_rules_valid(void **state)
{
        /* implicit tables may be defined later; a header may go below dotted-key tables */
        _cleanup_toml_ struct toml_value *root = parse_ok("[a.b.c]\n"
                                                          "x = 1\n"
                                                          "[a]\n"
                                                          "y = 2\n"
                                                          "[fruit]\n"
                                                          "apple.color = 'red'\n"
                                                          "apple.taste.sweet = true\n"
                                                          "[fruit.apple.texture]\n"
                                                          "smooth = true\n"
                                                          "[[fruit.apple.seeds]]\n"
                                                          "[[fruit.apple.seeds]]\n"
                                                          "size = 2\n");
        const struct toml_value *apple = toml_table_get(toml_table_get(root, "fruit"), "apple");
        assert_int_equal(toml_table_size(apple), 4);
        assert_int_equal(toml_array_length(toml_table_get(apple, "seeds")), 2);
        const struct toml_value *c = toml_table_get(toml_table_get(toml_table_get(root, "a"), "b"), "c");
        assert_int_equal(get_int(c, "x"), 1);
        assert_int_equal(get_int(toml_table_get(root, "a"), "y"), 2);
}

static void test_syntax_errors(void **state)
{
        assert_error("a = 1\nb = \n", "test.toml:2:5: missing value");
        assert_error("a = 1 b = 2\n", "test.toml:1:7: expected a newline after the value, found `b`");
        assert_error("= 1\n", "test.toml:1:1: expected a key, found `=`");
        assert_error("a b = 1\n", "test.toml:1:3: expected `=` after a key, found `b`");
        assert_error("x = [1, 2\n", "test.toml:1:5: unterminated array (missing `]`)");
        assert_error("x = [1 2]\n", "test.toml:1:8: expected `,` or `]` in array, found `2`");
        assert_error("x = { a = 1, }\n", "test.toml:1:14: trailing comma in an inline table");
        assert_error("x = { a = 1,\n b = 2 }\n", "test.toml:1:13: expected a key, found newline");
        assert_error("x = { a = 1\n}\n",
                     "test.toml:1:12: newline in an inline table (it must stay on one line)");
        assert_error("[a\n", "test.toml:1:3: expected `]` after the table name, found newline");
        assert_error("[[a]\n", "test.toml:1:4: expected `]]` after the table name, found `]`");
        assert_error("[a] x = 1\n", "test.toml:1:5: expected a newline after the table header, found `x`");
        assert_error("\"\"\"k\"\"\" = 1\n", "test.toml:1:1: a multi-line string cannot be a key");
        assert_error("x = True\n", "test.toml:1:5: expected a value, found `T`");
        assert_error("x = truth\n",
                     "test.toml:1:5: invalid value (strings need quotes; booleans are `true` and `false`)");
        assert_error("x = \u3000\n", "test.toml:1:5: expected a value, found `\u3000` (U+3000)");
}

static void test_string_errors(void **state)
{
        assert_error("s = \"abc\n", "test.toml:1:5: unterminated string (missing closing \")");
        assert_error("\n\ns = '''abc\n\n", "test.toml:3:5: unterminated string (missing closing ''')");
        assert_error("s = \"a\\qb\"\n", "test.toml:1:7: invalid escape sequence: backslash followed by `q`");
        assert_error("s = \"\\x41\"\n", "test.toml:1:6: invalid escape sequence: backslash followed by `x`");
        assert_error("s = \"\\e\"\n", "test.toml:1:6: invalid escape sequence: backslash followed by `e`");
        assert_error("s = \"\\u12\"\n", "test.toml:1:6: invalid escape: \\u needs exactly 4 hex digits");
        assert_error("s = \"\\uD800\"\n",
                     "test.toml:1:6: invalid escape: U+D800 is not a Unicode scalar value");
        assert_error("s = \"\\U00110000\"\n",
                     "test.toml:1:6: invalid escape: U+110000 is not a Unicode scalar value");
        assert_error("s = \"\"\"a\\  b\"\"\"\n",
                     "test.toml:1:9: invalid escape: a backslash followed by whitespace must end the line");
        assert_error("s = \"a\tb\x01\"\n",
                     "test.toml:1:9: control character U+0001 is not allowed in a string "
                     "(escape it)");
        assert_error("s = 'a\x7f'\n", "test.toml:1:7: control character U+007F is not allowed in a string");
        assert_error("s = \"a\rb\"\n", "test.toml:1:7: control character U+000D is not allowed in a string "
                                       "(escape it)");
        assert_error("s = \"\"\"a\"\"\"\"\"\"\n",
                     "test.toml:1:9: too many quotes: at most two may precede the "
                     "closing \"\"\"");
        assert_error("s = 'x' 'y'\n", "test.toml:1:9: expected a newline after the value, found `'`");
}

static void test_number_and_date_errors(void **state)
{
        assert_error("n = 9223372036854775808\n",
                     "test.toml:1:5: integer `9223372036854775808` is out of range (64-bit signed)");
        assert_error("n = -9223372036854775809\n",
                     "test.toml:1:5: integer `-9223372036854775809` is out of range (64-bit signed)");
        assert_error("n = 0x8000000000000000\n",
                     "test.toml:1:5: integer `0x8000000000000000` is out of range (64-bit signed)");
        assert_error("n = 012\n", "test.toml:1:5: invalid number `012`: leading zeros are not allowed");
        assert_error("n = 1__2\n",
                     "test.toml:1:5: invalid number `1__2`: underscores must be between digits");
        assert_error("n = -0x1\n",
                     "test.toml:1:5: invalid number `-0x1`: only decimal integers may have a sign");
        assert_error("n = 0X1\n", "test.toml:1:5: invalid number `0X1`");
        assert_error("n = 1.\n", "test.toml:1:5: invalid number `1.`: a digit must follow the `.`");
        assert_error("n = 1e\n", "test.toml:1:5: invalid number `1e`: bad exponent");
        assert_error("n = 1e400\n", "test.toml:1:5: float `1e400` is out of range");
        assert_error("n = infinity\n", "test.toml:1:5: invalid number `infinity`");
        assert_error("d = 2023-02-29\n", "test.toml:1:5: invalid date: 2023-02-29 does not exist");
        assert_error("d = 2023-1-01\n", "test.toml:1:5: invalid date: expected YYYY-MM-DD");
        assert_error("d = 2023-01-01T10:00\n",
                     "test.toml:1:5: invalid time: expected HH:MM:SS (seconds are required)");
        assert_error("d = 24:00:00\n", "test.toml:1:5: invalid time: 24:00:00 is out of range");
        assert_error("d = 2023-01-01T10:00:00+1:00\n",
                     "test.toml:1:5: invalid date-time: the offset must be Z or ±HH:MM");
        assert_error("d = 2023-01-01T10:00:00+24:00\n",
                     "test.toml:1:5: invalid date-time: offset +24:00 is out of range");
        assert_error("d = 10:00:00.\n", "test.toml:1:5: invalid time: a digit must follow the `.`");
}

static void test_semantic_errors(void **state)
{
        assert_error("a = 1\nb = 2\na = 3\n", "test.toml:3:1: duplicate key `a` (first defined at 1:1)");
        assert_error("a.b = 1\na.b = 2\n", "test.toml:2:3: duplicate key `a.b` (first defined at 1:3)");
        assert_error("x = {a = 1, a = 2}\n", "test.toml:1:13: duplicate key `a` (first defined at 1:6)");
        assert_error("\"a\" = 1\n'a' = 2\n", "test.toml:2:1: duplicate key `a` (first defined at 1:1)");
        assert_error("[t]\n[t]\n", "test.toml:2:2: table [t] is defined twice (first at 1:2)");
        assert_error("[a.b]\n[a]\n[a]\n", "test.toml:3:2: table [a] is defined twice (first at 2:2)");
        assert_error(
                "[a]\nb.c = 1\n[a.b]\n",
                "test.toml:3:4: cannot define table [a.b]: it was already defined by dotted keys (at 2:1)");
        assert_error("[a.b.c]\n[a]\nb.c.d = 1\n",
                     "test.toml:3:3: cannot use dotted key `b.c.d`: `b.c` is a "
                     "table defined by a header at 1:6, dotted keys cannot extend it");
        assert_error("a = 1\na.b = 2\n", "test.toml:2:1: cannot use dotted key `a.b`: `a` is an integer "
                                         "(defined at 1:1)");
        assert_error("a = {b = 1}\na.c = 2\n", "test.toml:2:1: cannot add `a.c` to inline table `a` (defined "
                                               "at 1:1): inline tables are closed");
        assert_error(
                "a = {b = 1}\n[a]\n",
                "test.toml:2:2: cannot define table [a]: it is already an inline table (defined at 1:1)");
        assert_error("a = {b = {}}\n[a.b.c]\n",
                     "test.toml:2:2: cannot define table [a.b.c]: `a` is an inline table (defined at 1:1)");
        assert_error("a = []\n[[a]]\n",
                     "test.toml:2:3: cannot append to [[a]]: it is already an array (defined at 1:1)");
        assert_error(
                "[[a]]\n[a]\n",
                "test.toml:2:2: cannot define table [a]: it is already an array of tables (defined at 1:3)");
        assert_error("[a]\n[[a]]\n",
                     "test.toml:2:3: cannot append to [[a]]: it is already a table (defined at "
                     "1:2)");
        assert_error("a = [{}]\n[a.b]\n",
                     "test.toml:2:2: cannot define table [a.b]: `a` is an array (defined at 1:1)");
        assert_error(
                "[[a]]\n[b]\n[a]\nx.y = 1\n",
                "test.toml:3:2: cannot define table [a]: it is already an array of tables (defined at 1:3)");
        assert_error(
                "[[x.arr]]\n[x]\narr.y = 1\n",
                "test.toml:3:1: cannot use dotted key `arr.y`: `arr` is an array of tables (defined at 1:5)");
        /* a quoted key is shown quoted, control characters escaped */
        assert_error("\"a b\\n\" = 1\n\"a b\\n\" = 2\n",
                     "test.toml:2:1: duplicate key `\"a b\\u000A\"` (first defined at 1:1)");
}

static void test_encoding_errors(void **state)
{
        assert_error("a = 1\nb = \"\xC3\x28\"\n", "test.toml:2:6: invalid UTF-8 (byte 0xC3)");
        assert_error("# \xED\xA0\x80 surrogate\n", "test.toml:1:3: invalid UTF-8 (byte 0xED)");
        assert_error("a = '\xC0\xAF'\n", "test.toml:1:6: invalid UTF-8 (byte 0xC0)");
        assert_error("a = 1\r\nb = 2\rc = 3\n",
                     "test.toml:2:6: bare carriage return (CR must be followed by LF)");
        assert_error("# comment \x07\n",
                     "test.toml:1:11: control character U+0007 is not allowed in a comment");
        assert_parse_error("a = 1\n\0", 7, "test.toml:2:1: expected a key, found U+0000");
        assert_error("\xEF\xBB\xBF\xEF\xBB\xBF"
                     "a = 1\n",
                     "test.toml:1:1: expected a key, found `\xEF\xBB\xBF` (U+FEFF)");
        /* no file name: a placeholder */
        struct coi_error err = { 0 };
        struct toml_value *root = NULL;
        assert_int_equal(toml_parse("=", 1, NULL, &root, &err), -EINVAL);
        assert_string_equal(err.msg, "<input>:1:1: expected a key, found `=`");
}

/* "x = " + open × depth + middle + close × depth */
static char *nested(const char *open, const char *middle, const char *close, int depth)
{
        char *doc = malloc(8 + (strlen(open) + strlen(close)) * (size_t)depth + strlen(middle));
        assert_non_null(doc);
        char *o = stpcpy(doc, "x = ");
        for (int i = 0; i < depth; i++)
                o = stpcpy(o, open);
        o = stpcpy(o, middle);
        for (int i = 0; i < depth; i++)
                o = stpcpy(o, close);
        stpcpy(o, "\n");
        return doc;
}

/* "k.k.k" with n parts, between prefix and suffix */
static char *dotted_key(const char *prefix, int n, const char *suffix)
{
        char *doc = malloc(strlen(prefix) + 2 * (size_t)n + strlen(suffix) + 1);
        assert_non_null(doc);
        char *o = stpcpy(doc, prefix);
        for (int i = 0; i < n; i++)
                o = stpcpy(o, i ? ".k" : "k");
        stpcpy(o, suffix);
        return doc;
}

static void assert_too_deep(const char *doc, int col)
{
        char want[160];
        snprintf(want, sizeof(want),
                 "test.toml:1:%d: nesting deeper than %d levels (tables, arrays and inline "
                 "tables count)",
                 col, TOML_MAX_DEPTH);
        assert_error(doc, want);
}

static void test_nesting_limit(void **state)
{
        /* x itself is at depth 1: TOML_MAX_DEPTH nested arrays fit, one more does not */
        for (int depth = TOML_MAX_DEPTH - 1; depth <= TOML_MAX_DEPTH; depth++) {
                _cleanup_free_ char *doc = nested("[", "", "]", depth);
                _cleanup_toml_ struct toml_value *root = parse_ok(doc);
                const struct toml_value *v = toml_table_get(root, "x");
                for (int i = 1; i < depth; i++) {
                        assert_int_equal(toml_array_length(v), 1);
                        v = toml_array_get(v, 0);
                }
                assert_int_equal(toml_value_type(v), TOML_ARRAY);
                assert_int_equal(toml_array_length(v), 0);
        }
        _cleanup_free_ char *arrays = nested("[", "", "]", TOML_MAX_DEPTH + 1);
        assert_too_deep(arrays, 5 + TOML_MAX_DEPTH); /* at the first bracket too many */

        _cleanup_free_ char *tables_ok = nested("{a=", "1", "}", TOML_MAX_DEPTH);
        _cleanup_toml_ struct toml_value *root = parse_ok(tables_ok);
        _cleanup_free_ char *tables = nested("{a=", "1", "}", TOML_MAX_DEPTH + 1);
        assert_too_deep(tables, 5 + 3 * TOML_MAX_DEPTH);

        /* tables from a dotted key or a header count the same; a.b.c = 1 makes two tables */
        _cleanup_free_ char *dotted_ok = dotted_key("", TOML_MAX_DEPTH + 1, " = 1\n");
        _cleanup_toml_ struct toml_value *root2 = parse_ok(dotted_ok);
        _cleanup_free_ char *dotted = dotted_key("", TOML_MAX_DEPTH + 2, " = 1\n");
        assert_too_deep(dotted, 1 + 2 * TOML_MAX_DEPTH);
        _cleanup_free_ char *header_ok = dotted_key("[", TOML_MAX_DEPTH, "]\n");
        _cleanup_toml_ struct toml_value *root3 = parse_ok(header_ok);
        _cleanup_free_ char *header = dotted_key("[", TOML_MAX_DEPTH + 1, "]\n");
        assert_too_deep(header, 2 + 2 * TOML_MAX_DEPTH);
        _cleanup_free_ char *aot =
                dotted_key("[[", TOML_MAX_DEPTH, "]]\n"); /* array at 128, its table at 129 */
        assert_too_deep(aot, 3 + 2 * (TOML_MAX_DEPTH - 1));

        /* a very deep document is refused without running out of stack */
        _cleanup_free_ char *huge = nested("[", "", "]", 1000000);
        assert_too_deep(huge, 5 + TOML_MAX_DEPTH);
}

static void test_unterminated_buffer(void **state)
{
        /* Each document is cut from a larger buffer whose next byte would change its meaning if read. */
        static const struct {
                const char *buf;
                size_t len;
                const char *want; /* NULL: valid */
        } cases[] = {
                { "a = 12345", 7, NULL }, /* a = 123 */
                { "a = tru", 7,
                  "test.toml:1:5: invalid value (strings need quotes; booleans are `true` and `false`)" },
                { "a = \"abc\"", 8, "test.toml:1:5: unterminated string (missing closing \")" },
                { "a = \"\"\"x\"\"\"", 10, "test.toml:1:5: unterminated string (missing closing \"\"\")" },
                { "a = '\\u0041'", 11, "test.toml:1:5: unterminated string (missing closing ')" },
                { "a = \"\\u0041\"", 9, "test.toml:1:6: invalid escape: \\u needs exactly 4 hex digits" },
                { "a = 1979-05-27T07:32:00Z", 23, NULL }, /* a local date-time */
                { "a = 07:32:00", 10,
                  "test.toml:1:5: invalid time: expected HH:MM:SS (seconds are required)" },
                { "a = [1]", 6, "test.toml:1:5: unterminated array (missing `]`)" },
                { "a = {b = 1}", 10, "test.toml:1:5: unterminated inline table (missing `}`)" },
                { "[[t]]", 4, "test.toml:1:4: expected `]]` after the table name, found `]`" },
                { "a = 1 # c\r\n", 10,
                  "test.toml:1:10: control character U+000D is not allowed in a comment" },
                { "é = 1", 1, "test.toml:1:1: invalid UTF-8 (byte 0xC3)" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                /* copy into an exact-size heap buffer so that ASan sees any read past the end */
                size_t len = cases[i].len;
                _cleanup_free_ char *exact = malloc(len);
                assert_non_null(exact);
                memcpy(exact, cases[i].buf, len);
                if (cases[i].want) {
                        assert_parse_error(exact, len, cases[i].want);
                        continue;
                }
                struct coi_error err = { 0 };
                _cleanup_toml_ struct toml_value *root = NULL;
                if (toml_parse(exact, len, "test.toml", &root, &err) < 0)
                        fail_msg("case %zu: %s", i, err.msg);
        }
        _cleanup_toml_ struct toml_value *a = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(toml_parse("a = 12345", 7, "t", &a, &err), 0);
        assert_int_equal(get_int(a, "a"), 123);
        _cleanup_toml_ struct toml_value *b = NULL;
        assert_int_equal(toml_parse("a = 1979-05-27T07:32:00Z", 23, "t", &b, &err), 0);
        assert_string_equal(get_dt(b, "a", TOML_DATETIME_LOCAL), "1979-05-27T07:32:00");
        _cleanup_toml_ struct toml_value *empty = NULL;
        assert_int_equal(toml_parse(NULL, 0, "t", &empty, &err), 0);
        assert_int_equal(toml_table_size(empty), 0);
}

static void test_large_table(void **state)
{
        enum {
                N = 10000
        };
        _cleanup_free_ char *doc = malloc((size_t)N * 64 + 64);
        assert_non_null(doc);
        char *o = doc;
        o += sprintf(o, "[big]\n");
        for (int i = 0; i < N; i++)
                o += sprintf(o, "key_%d = %d\n", i, i);
        for (int i = 0; i < N; i++)
                o += sprintf(o, "[t%d]\n", i);
        _cleanup_toml_ struct toml_value *root = parse_ok(doc);
        const struct toml_value *big = toml_table_get(root, "big");
        assert_int_equal(toml_table_size(big), N);
        assert_int_equal(toml_table_size(root), N + 1);
        for (int i = 0; i < N; i += 997) {
                char key[32];
                snprintf(key, sizeof(key), "key_%d", i);
                assert_string_equal(toml_table_key(big, (size_t)i, NULL), key);
                assert_int_equal(get_int(big, key), i);
                struct toml_pos pos;
                assert_non_null(toml_table_get_pos(big, key, &pos));
                assert_int_equal(pos.line, i + 2);
        }
        assert_null(toml_table_get(big, "key_10000"));

        /* a duplicate among many keys is still found, and reported at its line */
        o += sprintf(o, "[big]\n");
        assert_error(doc, "test.toml:20002:2: table [big] is defined twice (first at 1:2)");
        o = doc + sprintf(doc, "[big]\n");
        for (int i = 0; i < N; i++)
                o += sprintf(o, "key_%d = %d\n", i, i);
        sprintf(o, "key_4321 = 0\n");
        assert_error(doc, "test.toml:10002:1: duplicate key `key_4321` (first defined at 4323:1)");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strings),
                cmocka_unit_test(test_numbers),
                cmocka_unit_test(test_bool_and_datetimes),
                cmocka_unit_test(test_tables_and_positions),
                cmocka_unit_test(test_table_rules_valid),
                cmocka_unit_test(test_syntax_errors),
                cmocka_unit_test(test_string_errors),
                cmocka_unit_test(test_number_and_date_errors),
                cmocka_unit_test(test_semantic_errors),
                cmocka_unit_test(test_encoding_errors),
                cmocka_unit_test(test_nesting_limit),
                cmocka_unit_test(test_unterminated_buffer),
                cmocka_unit_test(test_large_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
