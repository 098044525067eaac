"""No secrets in the repository: keys and the secret key live in the instance folder, never in git."""
import os
import re
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What a leaked credential looks like. Each pattern is built so this file does not match itself.
PATTERNS = {
    "private key": re.compile("-----BEGIN " + r"[A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\b(AKIA|ASIA)" + r"[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_" + r"[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-" + r"[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza" + r"[0-9A-Za-z_-]{35}\b"),
    "password in a URL": re.compile(r"[a-z+]+://[^\s:/@'\"]+:" + r"[^\s@'\"{}$]{6,}@[\w.-]+"),
    "hard-coded secret key": re.compile(r"SECRET_KEY\s*=\s*['\"]" + r"[^'\"]{24,}['\"]"),
}
SECRET_FILES = re.compile(r"(^|/)(secret_key|.*\.pem|.*\.key|\.env|id_rsa.*|.*\.p12|.*\.pfx)$")
SKIP = ("tests/e2e/vendor/",)  # third-party minified code, checked at vendoring


def tracked_files():
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [p for p in out.decode().split("\0") if p and not p.startswith(SKIP)]


def test_no_key_or_secret_file_is_tracked():
    assert [p for p in tracked_files() if SECRET_FILES.search(p)] == []


def test_no_tracked_file_contains_a_credential():
    findings = []
    for path in tracked_files():
        full = os.path.join(REPO, path)
        if not os.path.isfile(full) or os.path.getsize(full) > 2_000_000:
            continue
        with open(full, "rb") as fh:
            text = fh.read().decode("utf-8", errors="ignore")
        findings += [f"{path}: {name}" for name, pattern in PATTERNS.items() if pattern.search(text)]
    assert findings == []


def test_the_instance_folder_and_local_env_files_are_ignored_by_git():
    for name in ("instance/secret_key", "instance/outbox_key.pem", "instance/vapid_private.pem", ".env"):
        ignored = subprocess.run(["git", "check-ignore", "-q", name], cwd=REPO).returncode == 0
        assert ignored, f"{name} would be committed"


def test_the_patterns_find_what_they_are_meant_to_find():
    samples = {"private key": "-----BEGIN " + "EC PRIVATE KEY-----",
               "AWS access key": "AKIA" + "ABCDEFGHIJKLMNOP",
               "GitHub token": "ghp_" + "a" * 36,
               "password in a URL": "postgresql://app:" + "s3cretpass@db.example",
               "hard-coded secret key": "SECRET_KEY = '" + "x" * 30 + "'"}
    for name, sample in samples.items():
        assert PATTERNS[name].search(sample), name
    assert not PATTERNS["password in a URL"].search("postgresql+psycopg://postgres@127.0.0.1:5432/test")
