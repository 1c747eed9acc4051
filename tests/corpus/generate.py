#!/usr/bin/env python3
"""Writes the bad-input corpus: one JSON Lines file per endpoint, one request per line.

    python3 tests/corpus/generate.py      # rewrites tests/corpus/*.jsonl

Each line: {"name", "method", "uri", "headers": [[name, value], ...], "body" (text) or
"body_b64" (bytes) or "fill" ({"prefix", "repeat", "times", "suffix"}: built at run time, for
the 1 MiB bodies), "expect": the exact status (400), and "generic": true where contract B
must give its one generic 200 (well-formed input that matches nobody)}. The runner,
tests/tests/api/corpus.rs, sends each line through the handler on the emulator-backed
stack with every limit off and asserts the status, the error code recorded for the case in
tests/corpus/expected/<endpoint>.json, the contract's shape (openapi.yaml) and that nothing
was stored or sent beyond the audit record of a refusal. The targets are the demo people (shared/demo/users.jsonl), so a parser
that let a hostile variant through would reach a real account.
"""
import base64
import json
import pathlib

HERE = pathlib.Path(__file__).parent
STAFF = "rk_demo_staff_key"
PORTAL = "rk_demo_portal_key"
BROWSER = "rk_demo_browser_key"
JSON = ["content-type", "application/json"]
MIB = 1024 * 1024

# Cyrillic а (U+0430), Greek ο (U+03BF), fullwidth @, zero-width space, RTL override.
CONFUSABLE_EMAILS = [
    "\u0430na@example.com", "ana@ex\u0430mple.com", "an\u03bf@example.com", "ana\uff20example.com",
    "ana\u200b@example.com", "ana@example.com\u200b", "\u202eana@example.com", "ana@example\u3002com",
    "ANA@EXAMPLE.CO\u039c", "ana@\u0435xample.com",
]
# The ones no email address may contain: fullwidth @, zero-width space, RTL override, ideographic full stop.
MALFORMED_CONFUSABLES = {3, 4, 5, 6, 7}
CONTROL = ["\r\n", "\n", "\r", "\x00", "\x1b[31m", "\x7f", "\u0085", "\t\x0b"]
INJECTIONS = [
    "ana@example.com\r\nBcc: evil@attacker.example",
    "ana@example.com\nSubject: pwned",
    "ana@example.com%0d%0aBcc:evil@attacker.example",
    "\"ana\r\nBcc: evil@attacker.example\"@example.com",
    "ana@example.com\r\n\r\n<script>alert(1)</script>",
    "Ana <ana@example.com>",
    "ana@example.com, evil@attacker.example",
    "ana@example.com;evil@attacker.example",
    "{{LeadId}}@example.com",
    "{TemporaryPassword}@example.com",
]
MALFORMED = [
    "{", "}", "[", "]", "{\"", "{\"a\"", "{\"a\":", "{\"a\":}", "{,}", "{\"a\":1,}", "{'a': 'b'}",
    "{\"a\" \"b\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\x41\"}", "{\"a\": NaN}", "{\"a\": Infinity}",
    "{\"a\": undefined}", "{\"a\": 01}", "{\"a\": .5}", "{\"a\": \"b\"}}", "nul", "tru", "{}{}",
    "\"\\ud800\"", "{\"a\":\"b\"} trailing", "/* comment */ {}", "[" * 2000 + "]" * 2000, "{\"a\":" * 600 + "1" + "}" * 600,
]
NON_OBJECTS = ["null", "true", "false", "0", "-1", "1e999", "\"a string\"", "[]", "[{}]", "{}"]


def case(name, uri, body=None, *, method="POST", headers=None, expect, body_b64=None, fill=None, generic=False):
    c = {"name": name, "method": method, "uri": uri, "headers": headers if headers is not None else [JSON], "expect": expect}
    if body_b64 is not None:
        c["body_b64"] = body_b64
    elif fill is not None:
        c["fill"] = fill
    else:
        c["body"] = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    if generic:
        c["generic"] = True
    return c


def common(uri, auth, valid, fields, form_ok):
    """Cases every endpoint shares; `auth` is the header pair that gets past the key check."""
    h = [JSON] + auth
    out = []
    for i, m in enumerate(MALFORMED):
        out.append(case(f"malformed json {i}", uri, m, headers=h, expect=400))
    text = json.dumps(valid)
    for cut in range(1, len(text), max(1, len(text) // 12)):
        out.append(case(f"truncated at {cut}", uri, text[:cut], headers=h, expect=400))
    for i, m in enumerate(NON_OBJECTS):
        out.append(case(f"not an object {i}", uri, m, headers=h, expect=400))
    for f in fields:
        for label, v in [("number", 12345), ("bool", True), ("array", ["a@b.co"]), ("object", {"x": 1}), ("huge number", 1e308)]:
            out.append(case(f"{f} as {label}", uri, {**valid, f: v}, headers=h, expect=400))
    out.append(case("all null", uri, {f: None for f in fields}, headers=h, expect=400))
    out.append(case("empty object", uri, {}, headers=h, expect=400))
    out.append(case("invalid utf-8", uri, headers=h, body_b64=base64.b64encode(b'{"x": "\xff\xfe\xc3("}').decode(), expect=400))
    out.append(case("utf-16 body", uri, headers=h, body_b64=base64.b64encode(text.encode("utf-16")).decode(), expect=400))
    out.append(case("empty body", uri, "", headers=h, expect=400))
    out.append(case("whitespace body", uri, " \r\n\t ", headers=h, expect=400))
    out.append(case("1 MiB body", uri, headers=h, expect=413, fill={"prefix": "{\"x\":\"", "repeat": "a", "times": MIB, "suffix": "\"}"}))
    out.append(case("1 MiB of spaces", uri, headers=h, expect=413, fill={"prefix": "", "repeat": " ", "times": MIB, "suffix": text}))
    out.append(case("16 KiB + 1 body", uri, headers=h, expect=413, fill={"prefix": "{\"x\":\"", "repeat": "a", "times": 16 * 1024 - 7, "suffix": "\"}"}))
    for ct in ["text/plain", "application/xml", "text/html", "multipart/form-data; boundary=x", "application/octet-stream",
               "image/png", "application/javascript", "application/x-www-form-urlencoded, application/json"]:
        out.append(case(f"content-type {ct!r}", uri, text, headers=[["content-type", ct]] + auth, expect=415))
    if not form_ok:
        out.append(case("form body", uri, "email=ana%40example.com", headers=[["content-type", "application/x-www-form-urlencoded"]] + auth, expect=415))
    for m in ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]:
        out.append(case(f"method {m}", uri, text, method=m, headers=h, expect=405))
    return out


def guest_reset():
    uri = "/v1/guests/password?reset=true"
    auth = [["authorization", f"apikey {STAFF}"]]
    valid = {"email": "ana@example.com"}
    fields = ["username", "email", "mobile", "first_name", "channel"]
    out = common(uri, auth, valid, fields, form_ok=False)
    h = [JSON] + auth
    for i, e in enumerate(INJECTIONS):
        # Braces are legal in a local part: those addresses are well-formed, of nobody.
        out.append(case(f"email injection {i}", uri, {"email": e}, headers=h, expect=404 if "{" in e else 400))
    for i, c in enumerate(CONTROL):
        out.append(case(f"control in first_name {i}", uri, {"mobile": "+442079460958", "first_name": f"Zo{c}e"}, headers=h, expect=400))
        out.append(case(f"control in username {i}", uri, {"username": f"ana{c}.silva"}, headers=h, expect=400))
        out.append(case(f"control in mobile {i}", uri, {"mobile": f"+1415{c}7415569"}, headers=h, expect=400))
    out.append(case("first_name header injection", uri, {"email": "family@example.com", "first_name": "Zara\r\nBcc: evil@attacker.example"}, headers=h, expect=400))
    for i, e in enumerate(CONFUSABLE_EMAILS):
        # Well-formed addresses of nobody are not found; the malformed ones are refused.
        out.append(case(f"confusable email {i}", uri, {"email": e}, headers=h, expect=400 if i in MALFORMED_CONFUSABLES else 404))
    out.append(case("confusable username", uri, {"username": "\u0430na.silva"}, headers=h, expect=404))
    out.append(case("10k username", uri, {"username": "a" * 10_000}, headers=h, expect=400))
    out.append(case("10k email", uri, {"email": "a" * 10_000 + "@example.com"}, headers=h, expect=400))
    out.append(case("10k mobile", uri, {"mobile": "1" * 10_000}, headers=h, expect=400))
    out.append(case("10k first_name", uri, {"email": "family@example.com", "first_name": "z" * 10_000}, headers=h, expect=400))
    for cc in [1e400, 99999999999999999999, -1, 70000, 1.5, "ZZ", "U\r\nS", "", "+1", "1\u0661"]:
        out.append(case(f"country_code {cc!r}", uri, f'{{"mobile": "4157415569", "country_code": {json.dumps(cc) if not isinstance(cc, float) or cc != 1e400 else "1e400"}}}', headers=h, expect=400))
    out.append(case("channel fax", uri, {"email": "ana@example.com", "channel": "fax"}, headers=h, expect=400))
    out.append(case("channel with CRLF", uri, {"email": "ana@example.com", "channel": "sms\r\n"}, headers=h, expect=400))
    # Authorization: missing, empty, wrong scheme, doubled, a guest token, no permission.
    for name, hs in [
        ("no authorization", []),
        ("empty authorization", [["authorization", ""]]),
        ("scheme only", [["authorization", "apikey"]]),
        ("basic scheme", [["authorization", f"Basic {STAFF}"]]),
        ("bare key", [["authorization", STAFF]]),
        ("doubled authorization", [["authorization", f"apikey {STAFF}"], ["authorization", f"apikey {STAFF}"]]),
        ("doubled, one bad", [["authorization", f"apikey {STAFF}"], ["authorization", "apikey nope"]]),
        ("guest token", [["authorization", "bearer rk_demo_guest_token"]]),
        ("guest token as apikey", [["authorization", "apikey rk_demo_guest_token"]]),
        ("read-only staff", [["authorization", "apikey rk_demo_staff_readonly_key"]]),
        ("portal key", [["authorization", f"apikey {PORTAL}"]]),
        ("browser key", [["authorization", f"apikey {BROWSER}"]]),
        ("key with trailing junk", [["authorization", f"apikey {STAFF} x"]]),
        ("key with NUL", [["authorization", f"apikey {STAFF}\\u0000"]]),
        ("very long key", [["authorization", "apikey " + "k" * 8000]]),
    ]:
        out.append(case(f"auth: {name}", uri, valid, headers=[JSON] + hs, expect=401))
    for q in ["", "?reset=false", "?reset=TRUE", "?reset=1", "?reset", "?reset=true%00", "?reset=tru"]:
        out.append(case(f"query {q!r}", "/v1/guests/password" + q, valid, headers=h, expect=400))
    out.append(case("path traversal", "/v1/guests/password/../password?reset=true", valid, headers=h, expect=404))
    out.append(case("path suffix", "/v1/guests/password.json?reset=true", valid, headers=h, expect=404))
    return out


def forgot_password():
    uri = "/api/Authentication/ForgotPassword"
    auth = [["authorization", PORTAL]]
    valid = {"EmailAddress": "ana@example.com"}
    fields = ["EmailAddress", "SearchKeyData", "RecipientField"]
    out = common(uri, auth, valid, fields, form_ok=False)
    h = [JSON] + auth
    for i, e in enumerate(INJECTIONS):
        # Braces are legal in a local part: those addresses are well-formed, of nobody.
        generic = "{" in e
        out.append(case(f"email injection {i}", uri, {"EmailAddress": e}, headers=h, generic=generic, expect=200 if generic else 400))
    for i, c in enumerate(CONTROL):
        out.append(case(f"control in EmailAddress {i}", uri, {"EmailAddress": f"ana{c}@example.com"}, headers=h, expect=400))
        out.append(case(f"control in phone value {i}", uri, {"SearchKeyData": {"SchemaName": "Phone", "Value": f"+1-650{c}2530000"}}, headers=h, expect=400))
        out.append(case(f"control in SchemaName {i}", uri, {"SearchKeyData": {"SchemaName": f"Phone{c}", "Value": "+1-6502530000"}}, headers=h, expect=400))
    for i, e in enumerate(CONFUSABLE_EMAILS):
        # Well-formed addresses of nobody get the one generic answer (no enumeration);
        # invisible, bidi and fullwidth characters make an address malformed.
        if i in MALFORMED_CONFUSABLES:
            out.append(case(f"confusable email {i}", uri, {"EmailAddress": e}, headers=h, expect=400))
        else:
            out.append(case(f"confusable email {i}", uri, {"EmailAddress": e}, headers=h, generic=True, expect=200))
    # A vanity number is a number (libphonenumber maps letters to digits): of nobody here.
    out.append(case("phone with letters", uri, {"SearchKeyData": {"SchemaName": "Phone", "Value": "+1-650-CALL-ANA"}}, headers=h, generic=True, expect=200))
    for name, body in [
        ("both email and search", {"EmailAddress": "ana@example.com", "SearchKeyData": {"SchemaName": "Phone", "Value": "+16502530000"}}),
        ("unknown SchemaName", {"SearchKeyData": {"SchemaName": "SSN", "Value": "1"}}),
        ("non-unique SchemaName", {"SearchKeyData": {"SchemaName": "mx_City", "Value": "Porto"}}),
        ("alt email not unique", {"SearchKeyData": {"SchemaName": "mx_Alt_Email", "Value": "ana.alt@example.org"}}),
        ("SearchKeyData without Value", {"SearchKeyData": {"SchemaName": "Phone"}}),
        ("SearchKeyData without SchemaName", {"SearchKeyData": {"Value": "+16502530000"}}),
        ("SearchKeyData null members", {"SearchKeyData": {"SchemaName": None, "Value": None}}),
        ("SearchKeyData as string", {"SearchKeyData": "Phone=+16502530000"}),
        ("SearchKeyData as a list of one", {"SearchKeyData": [{"SchemaName": "Phone", "Value": "+16502530000"}]}),
        ("Value as number", {"SearchKeyData": {"SchemaName": "Phone", "Value": 16502530000}}),
        ("phone too long", {"SearchKeyData": {"SchemaName": "Phone", "Value": "+1" + "6" * 80}}),
        ("10k phone", {"SearchKeyData": {"SchemaName": "Phone", "Value": "1" * 10_000}}),
        ("10k email", {"EmailAddress": "a" * 10_000 + "@example.com"}),
        ("10k SchemaName", {"SearchKeyData": {"SchemaName": "P" * 10_000, "Value": "1"}}),
        ("member code with CRLF", {"SearchKeyData": {"SchemaName": "mx_Member_Code", "Value": "M-1\r\nBcc: x"}}),
        ("RecipientField text", {"EmailAddress": "ana@example.com", "RecipientField": {"SchemaName": "mx_City"}}),
        ("RecipientField unknown", {"EmailAddress": "ana@example.com", "RecipientField": {"SchemaName": "Fax"}}),
        ("RecipientField string", {"EmailAddress": "ana@example.com", "RecipientField": "Phone"}),
        ("RecipientField without SchemaName", {"EmailAddress": "ana@example.com", "RecipientField": {}}),
        ("RecipientField with CRLF", {"EmailAddress": "ana@example.com", "RecipientField": {"SchemaName": "Phone\r\n"}}),
        ("template in SchemaName", {"SearchKeyData": {"SchemaName": "{LeadId}", "Value": "x"}}),
    ]:
        out.append(case(name, uri, body, headers=h, expect=400))
    for name, hs in [
        ("no authorization", []),
        ("empty authorization", [["authorization", ""]]),
        ("bearer scheme", [["authorization", f"Bearer {PORTAL}"]]),
        ("apikey scheme", [["authorization", f"apikey {PORTAL}"]]),
        ("doubled authorization", [["authorization", PORTAL], ["authorization", PORTAL]]),
        ("doubled, one bad", [["authorization", PORTAL], ["authorization", "nope"]]),
        ("staff key", [["authorization", STAFF]]),
        ("browser key", [["authorization", BROWSER]]),
        ("guest token", [["authorization", "rk_demo_guest_token"]]),
        ("very long key", [["authorization", "k" * 8000]]),
        ("key in query only", [["x-api-key", PORTAL]]),
    ]:
        out.append(case(f"auth: {name}", uri, valid, headers=[JSON] + hs, expect=401))
    out.append(case("path suffix", uri + ".json", valid, headers=h, expect=404))
    out.append(case("path case", uri.lower(), valid, headers=h, expect=404))
    return out


def password_confirm():
    uri = "/user/password/reset"
    valid = {"VerificationId": "0f" * 16, "TemporaryPassword": "123456", "Password": "a tangerine rowboat at dusk",
             "PasswordConfirm": "a tangerine rowboat at dusk", "ApiKey": BROWSER}
    fields = ["TemporaryPassword", "EmailAddress", "LeadId", "VerificationId", "Password", "PasswordConfirm", "ApiKey"]
    out = common(uri, [], valid, fields, form_ok=True)
    h = [JSON]
    for i, e in enumerate(INJECTIONS):
        out.append(case(f"email injection {i}", uri, {**{k: v for k, v in valid.items() if k != "VerificationId"}, "EmailAddress": e}, headers=h, expect=400))
    for i, c in enumerate(CONTROL):
        out.append(case(f"control in EmailAddress {i}", uri, {**{k: v for k, v in valid.items() if k != "VerificationId"}, "EmailAddress": f"ana{c}@example.com"}, headers=h, expect=400))
        out.append(case(f"control in LeadId {i}", uri, {**{k: v for k, v in valid.items() if k != "VerificationId"}, "LeadId": f"0a0a0a0a{c}0a0a0a0a0a0a0a0a0a0a0a0a"}, headers=h, expect=400))
    for i, e in enumerate(CONFUSABLE_EMAILS):
        out.append(case(f"confusable email {i}", uri, {**{k: v for k, v in valid.items() if k != "VerificationId"}, "EmailAddress": e}, headers=h, expect=400))
    for name, patch in [
        ("10k password", {"Password": "p" * 10_000}),
        ("5k multibyte password", {"Password": "\u00e9" * 5_000}),
        ("129 chars", {"Password": "x" * 129, "PasswordConfirm": "x" * 129}),
        ("NFKC expands past 128", {"Password": "\ufdfa" * 20, "PasswordConfirm": "\ufdfa" * 20}),
        ("7 chars", {"Password": "abcdefg", "PasswordConfirm": "abcdefg"}),
        ("mismatch", {"PasswordConfirm": "a tangerine rowboat at dawn"}),
        ("empty password", {"Password": "", "PasswordConfirm": ""}),
        ("whitespace password", {"Password": "        ", "PasswordConfirm": "        "}),
        ("no ApiKey", {"ApiKey": None}),
        ("empty ApiKey", {"ApiKey": ""}),
        ("no code", {"TemporaryPassword": None}),
        ("two subjects", {"EmailAddress": "ana@example.com"}),
        ("three subjects", {"EmailAddress": "ana@example.com", "LeadId": "0a" * 16}),
        ("bad VerificationId", {"VerificationId": "not-a-guid"}),
        ("VerificationId 33 hex", {"VerificationId": "0f" * 16 + "0"}),
        ("VerificationId with CRLF", {"VerificationId": "0f" * 8 + "\r\n" + "0f" * 8}),
        ("Latitude 1e308", {"Latitude": 1e308, "Longitude": 0}),
        ("Latitude -1e308", {"Latitude": -1e308, "Longitude": 0}),
        ("Longitude 181", {"Latitude": 0, "Longitude": 181}),
        ("Latitude only", {"Latitude": 10}),
        ("Latitude text", {"Latitude": "north", "Longitude": "west"}),
        ("Latitude Infinity text", {"Latitude": "Infinity", "Longitude": "0"}),
        ("Latitude NaN text", {"Latitude": "NaN", "Longitude": "0"}),
        ("Latitude 1e999 text", {"Latitude": "1e999", "Longitude": "0"}),
        ("Latitude array", {"Latitude": [1], "Longitude": [2]}),
        ("Latitude bool", {"Latitude": True, "Longitude": False}),
        ("Latitude object", {"Latitude": {"v": 1}, "Longitude": 1}),
    ]:
        body = {k: v for k, v in {**valid, **patch}.items() if v is not None}
        out.append(case(name, uri, body, headers=h, expect=400))
    out.append(case("10k password twice", uri, {**valid, "Password": "p" * 10_000, "PasswordConfirm": "p" * 10_000}, headers=h, expect=413))
    out.append(case("Latitude 1e400", uri, json.dumps(valid)[:-1] + ', "Latitude": 1e400, "Longitude": 1}', headers=h, expect=400))
    out.append(case("Latitude 400 digits", uri, json.dumps(valid)[:-1] + ', "Latitude": ' + "9" * 400 + ', "Longitude": 1}', headers=h, expect=400))
    # Keys that are not browser or server confirm keys.
    for name, key in [("unknown key", "nope"), ("staff key", STAFF), ("portal key", PORTAL), ("guest token", "rk_demo_guest_token"),
                      ("10k key", "k" * 10_000)]:
        out.append(case(f"ApiKey: {name}", uri, {**valid, "ApiKey": key}, headers=h, expect=401))
    # Surrounding whitespace is no part of a key: this one authenticates, and the code is wrong.
    out.append(case("ApiKey: key with CRLF", uri, {**valid, "ApiKey": BROWSER + "\r\n"}, headers=h, expect=400))
    # JSONP: the callback must be a plain dotted identifier.
    for i, cb in enumerate(["alert(1)", "a;b", "a%3Bb", "%3C/script%3E", "cb%E2%80%A8", "1abc", "a..b", "a.", ".a", "a-b",
                            "cb//", "cb%0d%0aX:1", "x=1", "constructor.constructor('x')()", "a" * 65, "%C3%A9", "a%20b", "",
                            "a[0]", "(function(){})"]):
        out.append(case(f"jsonp callback {i}", f"{uri}?callback={cb}", valid, headers=h, expect=400))
    for f in ["xml", "csv", "jsv", "json%00", "html", ""]:
        out.append(case(f"format {f!r}", f"{uri}?format={f}", valid, headers=h, expect=400))
    for a in ["application/xml", "text/csv", "image/png", "text/plain"]:
        out.append(case(f"accept {a}", uri, valid, headers=h + [["accept", a]], expect=406))
    for suffix in [".xml", ".csv", ".jsonp", "/x", ".JSON", ".json.json", "/.json"]:
        out.append(case(f"path suffix {suffix}", uri + suffix, valid, headers=h, expect=404))
    form = "&".join(f"{k}={v}" for k, v in valid.items())
    form_h = [["content-type", "application/x-www-form-urlencoded"]]
    for name, body in [
        ("form doubled ApiKey", form + "&ApiKey=other"),
        ("form doubled Password", form + "&Password=other"),
        ("form missing ApiKey", form.replace(f"&ApiKey={BROWSER}", "")),
        ("form CRLF in EmailAddress", form.replace("VerificationId=" + "0f" * 16, "EmailAddress=ana%40example.com%0d%0aBcc:x")),
        ("form Latitude inf", form + "&Latitude=inf&Longitude=0"),
        ("form Latitude 1e999", form + "&Latitude=1e999&Longitude=0"),
        ("form bad percent", form + "&Latitude=%zz"),
        ("form 10k password", form.replace("a tangerine rowboat at dusk", "p" * 10_000, 1)),
    ]:
        out.append(case(name, uri, body, headers=form_h, expect=400))
    return out


def main():
    for name, cases in [("guest-reset", guest_reset()), ("forgot-password", forgot_password()), ("password-confirm", password_confirm())]:
        names = [c["name"] for c in cases]
        dups = {n for n in names if names.count(n) > 1}
        assert not dups, f"{name}: duplicate case names {dups}"
        path = HERE / f"{name}.jsonl"
        path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases))
        print(f"{path.relative_to(HERE.parent.parent)}: {len(cases)} cases")


if __name__ == "__main__":
    main()
