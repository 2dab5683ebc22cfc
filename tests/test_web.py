"""The dashboard (`monitor serve`) through Starlette's test client: every page on a database built here, filters,
corrections with CSRF and roles, login and logout, hostile feed text, downloads that follow the corrections."""

import csv
import datetime as dt
import io
import re

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from monitor.db.store import Store, scalar
from monitor.localtime import LocalTime
from monitor.outputs.export import Week
from monitor.web.app import WebSettings, create_app
from monitor.web.auth import LoginThrottle, UsersFileError, add_user, hash_password, load_users, verify_password

from helpers import HOSTILE_TITLES, batch

UTC = dt.UTC
HOSTILE = [*HOSTILE_TITLES, "<script>alert(1)</script> Polri"]
SENTENCES = {"negative": "{name} dikritik keras karena lamban menangani kasus itu.",
             "neutral": "{name} menggelar rapat koordinasi pada Senin pagi.",
             "positive": "{name} dipuji warga atas layanan yang cepat."}
AGENCIES = [{"agency_id": "kpk", "name": "Komisi Pemberantasan Korupsi", "type": "lembaga"},
            {"agency_id": "bnpb", "name": "Badan Nasional Penanggulangan Bencana", "type": "lembaga"},
            {"agency_id": "polri", "name": "Kepolisian Negara Republik Indonesia", "type": "lembaga"},
            {"agency_id": "polda-metro", "name": "Polda Metro Jaya", "type": "kepolisian daerah", "parent": "polri"}]
PASSWORD = "kata-sandi-uji-123"


def dashboard_db(path, days: int = 28, today: dt.date | None = None) -> str:
    """`days` days of news up to today (local): KPK daily, Polri most days, BNPB rarely; pairs of articles share
    a story; every 13th title hostile. Returns the path."""
    local = LocalTime()
    today = today or local.today()
    rows = {"articles": [], "mentions": [], "mention_tone": [], "article_analysis": []}
    n = 0
    for back in range(days):
        day = today - dt.timedelta(days=back)
        ts = local.start_of(day) + dt.timedelta(hours=9)
        for agency, per_day in (("kpk", 2 + back % 2), ("polri", 1 + back % 3), ("bnpb", 1 if back % 6 == 0 else 0),
                                ("polda-metro", 1 if back % 4 == 1 else 0)):
            for k in range(per_day):
                n += 1
                tone = ("negative", "neutral", "positive")[(n + k) % 3]
                name = next(a["name"] for a in AGENCIES if a["agency_id"] == agency)
                sentence = SENTENCES[tone].format(name=name)
                title = HOSTILE[(n // 13 - 1) % len(HOSTILE)] if n % 13 == 0 else f"Berita {agency} nomor {n} tentang layanan publik"
                aid = f"a{n}"
                rows["articles"].append({
                    "article_id": aid, "url": f"https://contoh.test/{n}", "title": title, "outlet": f"Media {n % 5}",
                    "published_at": ts + dt.timedelta(minutes=n), "fetched_at": ts, "status": "ok",
                    "cluster_id": f"c{n // 2}", "lead": f"Teras berita nomor {n}.",
                    "text": f"Teras berita nomor {n}.\n{sentence} Kalimat lain tanpa instansi.\nParagraf penutup {n}."})
                rows["mentions"].append({"article_id": aid, "agency_id": agency, "mention_count": 1, "sentences": [sentence]})
                p = {"negative": (0.8, 0.1, 0.1), "neutral": (0.1, 0.8, 0.1), "positive": (0.1, 0.1, 0.8)}[tone]
                rows["mention_tone"].append({"article_id": aid, "agency_id": agency, "model_version": "tone-v1", "tone": tone,
                                             "p_negative": p[0], "p_neutral": p[1], "p_positive": p[2], "analyzed_at": ts,
                                             "sentences_scored": 1, "sentence_tones": [tone],
                                             "sentence_p_negative": [p[0]], "sentence_p_positive": [p[2]]})
                rows["article_analysis"].append({"article_id": aid, "model_version": "tone-v1", "tone": tone,
                                                 "p_negative": p[0], "p_neutral": p[1], "p_positive": p[2],
                                                 "topics": ["hukum" if agency == "kpk" else "keamanan"], "topic_scores": [0.9],
                                                 "analyzed_at": ts})
    Store(path).write(batch(**rows, agencies=AGENCIES))
    return str(path)


@pytest.fixture
def db(tmp_path) -> str:
    return dashboard_db(tmp_path / "dash.duckdb")


def make_client(db: str, users_file=None, followed=("kpk", "polri")) -> TestClient:
    app = create_app(WebSettings(db_path=db, followed=list(followed), users_file=users_file, secret="rahasia-uji"))
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def tone_of(db: str, article: str, agency: str) -> str:
    with Store(db).session(read_only=True) as con:
        return scalar(con, "SELECT any_value(tone) FROM agency_mentions WHERE article_id = ? AND agency_id = ?", [article, agency])


def negative_kpk_article(db: str) -> str:
    with Store(db).session(read_only=True) as con:
        return scalar(con, "SELECT arg_max(article_id, ts) FROM agency_mentions WHERE agency_id = 'kpk' AND tone = 'negative'")


def test_every_page_renders_with_a_strict_content_security_policy(db):
    client = make_client(db)
    for path in ("/", "/agency/kpk", "/agency/polri?days=7", "/stories", "/article/a1", "/downloads"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src" not in response.headers["content-security-policy"]  # default-src 'none': no script at all
        assert "<script" not in response.text, path
    overview = client.get("/").text
    assert "Komisi Pemberantasan Korupsi" in overview and "★" in overview and "Instansi yang dipantau" in overview
    agency = client.get("/agency/kpk").text
    charts = re.findall(r'<img class="chart" src="([^"]+)"', agency)  # daily volume by tone and net tone, drawn on the server
    assert charts == ["/agency/kpk/chart/volume.svg?days=28", "/agency/kpk/chart/tone.svg?days=28"]
    for chart in charts:
        svg = client.get(chart)
        assert svg.headers["content-type"] == "image/svg+xml" and svg.text.lstrip().startswith("<?xml") and "<svg" in svg.text
    assert client.get("/agency/kpk/chart/pie.svg").status_code == 404
    fresh = make_client(db).get("/agency/polri/chart/tone.svg?days=7")  # without its page first: read from the database
    assert fresh.status_code == 200 and "<svg" in fresh.text
    assert "Porsi pemberitaan" in agency and "Badan Nasional Penanggulangan Bencana" in agency  # a peer of the same type
    assert client.get("/monitor.css").headers["content-type"].startswith("text/css")


def test_hostile_feed_text_stays_text(db):
    client = make_client(db)
    for path in ("/stories?since=2000-01-01", "/article/a13", "/agency/kpk"):
        page = client.get(path).text
        assert '<img src=x' not in page and "<script>alert" not in page
        assert "\u202e" not in page
    assert "&lt;img src=x onerror=" in client.get("/article/a13").text


def test_stories_filter_by_agency_tone_outlet_topic_and_text(db):
    client = make_client(db)
    today = LocalTime().today()
    week = f"since={today - dt.timedelta(days=6)}&until={today}"
    all_rows = client.get(f"/stories?{week}").text.count("<tr>") - 1
    kpk = client.get(f"/stories?{week}&agency=kpk").text
    assert 0 < kpk.count("<tr>") - 1 < all_rows and "Berita bnpb" not in kpk
    negative = client.get(f"/stories?{week}&agency=kpk&tone=negative").text
    assert re.findall(r"<td class=\"(\w*)\">", negative) and set(re.findall(r"<td class=\"(\w*)\">", negative)) == {"neg"}
    outlet = client.get(f"/stories?{week}&outlet=Media 1").text
    assert "Media 1" in outlet and "Media 2 ·" not in outlet
    topic = client.get(f"/stories?{week}&topic=keamanan").text
    assert "Berita kpk" not in topic and "Berita polri" in topic
    found = client.get(f"/stories?{week}&q=NOMOR 5 tentang").text
    assert "Berita kpk nomor 5 tentang" in found and found.count("<tr>") - 1 == 1
    injected = client.get(f"/stories?{week}&q=' OR 1=1 --&agency=kpk' OR '1'='1")
    assert injected.status_code == 200 and "Tidak ada berita yang cocok" in injected.text


def test_stories_page_through_results(db):
    client = make_client(db)
    first = client.get("/stories?since=2000-01-01")
    assert 'id="next"' in first.text
    second = client.get("/stories?since=2000-01-01&page=2").text
    titles = lambda page: set(re.findall(r'href="/article/(a\d+)"', page))  # noqa: E731
    assert titles(first.text) and titles(second) and not titles(first.text) & titles(second)


def test_article_marks_each_mention_sentence_with_its_tone(db):
    page = make_client(db).get("/article/a1").text
    assert re.search(r'<mark class="tone-(negative|neutral|positive)">[^<]+</mark><span class="tag">[^<]+: (negatif|netral|positif)</span>', page)
    assert "Model tone-v1" in page and 'rel="noopener noreferrer nofollow"' in page and "https://contoh.test/1" in page


def test_an_analyst_corrects_a_tone_and_overview_report_and_export_follow(db):
    client = make_client(db)
    article = negative_kpk_article(db)
    week = Week.last_complete()
    before_overview = client.get("/").text
    page = client.get(f"/article/{article}").text
    response = client.post(f"/article/{article}/correct", data={
        "csrf_token": csrf(page), "kind": "tone", "agency_id": "kpk", "new_value": "positive", "note": "klarifikasi"})
    assert response.status_code == 303 and response.headers["location"] == f"/article/{article}"
    assert tone_of(db, article, "kpk") == "positive"
    after = client.get(f"/article/{article}").text
    assert "Koreksi disimpan." in after and "dikoreksi local:" in after and "negatif → positif" in after
    overview = client.get("/").text
    assert "Koreksi analis dipakai: 1 nada diubah" in overview and overview != before_overview
    with Store(db).session(read_only=True) as con:
        corrected_week = scalar(con, "SELECT strftime(day, '%G-W%V') FROM agency_mentions WHERE article_id = ? AND agency_id = 'kpk'", [article])
    summary = client.get(f"/downloads/{corrected_week}/summary.csv")
    assert summary.status_code == 200 and "attachment" in summary.headers["content-disposition"]
    rows = {r["agency_id"]: r for r in csv.DictReader(io.StringIO(summary.content.decode("utf-8-sig")))}
    assert rows["kpk"]["tones_corrected"] == "1"
    report = client.get(f"/downloads/{corrected_week}/report.html")
    assert "Koreksi analis dipakai: 1 nada diubah" in report.text
    assert client.get(f"/downloads/{week.label}/xlsx").content[:2] == b"PK"


def test_a_wrong_mention_and_an_irrelevant_article_leave_the_figures(db):
    client = make_client(db)
    page = client.get("/article/a2").text
    token = csrf(page)
    agency = re.search(r'id="mention-([\w-]+)"', page).group(1)
    client.post("/article/a2/correct", data={"csrf_token": token, "kind": "mention", "agency_id": agency, "new_value": "wrong"})
    assert "ditandai salah sebut" in client.get("/article/a2").text and tone_of(db, "a2", agency) is None
    client.post("/article/a3/correct", data={"csrf_token": token, "kind": "article", "agency_id": "", "new_value": "irrelevant"})
    assert 'id="irrelevant"' in client.get("/article/a3").text
    with Store(db).session(read_only=True) as con:
        assert scalar(con, "SELECT count(*) FROM agency_mentions WHERE article_id IN ('a2', 'a3')") == 0
        assert scalar(con, "SELECT count(*) FROM removed_mentions") == 2


def test_a_form_without_its_csrf_token_is_refused_and_stores_nothing(db):
    client = make_client(db)
    client.get("/article/a1")
    for token in ("", "palsu"):
        response = client.post("/article/a1/correct", data={"csrf_token": token, "kind": "tone", "agency_id": "kpk", "new_value": "positive"})
        assert response.status_code == 403 and "CSRF" in response.text
    with Store(db).session(read_only=True) as con:
        assert scalar(con, "SELECT count(*) FROM corrections") == 0


def test_a_bad_correction_is_refused_with_its_reason(db):
    client = make_client(db)
    token = csrf(client.get("/article/a1").text)
    response = client.post("/article/a1/correct", data={"csrf_token": token, "kind": "tone", "agency_id": "kpk", "new_value": "parah"})
    assert response.status_code == 400 and "value must be one of" in response.text


def test_unknown_pages_and_weeks(db):
    client = make_client(db)
    assert client.get("/agency/tidak-ada").status_code == 404
    assert client.get("/article/tidak-ada").status_code == 404
    assert client.get("/tidak-ada").status_code == 404
    assert client.get("/downloads/2026-48/xlsx").status_code == 400
    assert client.get("/downloads/2026-W48/exe").status_code == 404


@pytest.fixture
def users_file(tmp_path):
    path = tmp_path / "users.yaml"
    add_user(path, "ani", "analyst", PASSWORD)
    add_user(path, "budi", "viewer", PASSWORD)
    return path


def login(client: TestClient, name: str, password: str = PASSWORD, next_path: str = "/"):
    page = client.get(f"/login?next={next_path}").text
    return client.post("/login", data={"csrf_token": csrf(page), "name": name, "password": password, "next": next_path})


def test_with_a_users_file_every_page_needs_a_login_and_logout_ends_it(db, users_file):
    client = make_client(db, users_file)
    for path in ("/", "/stories", "/article/a1", "/downloads", "/downloads/2026-W48/xlsx"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
    assert login(client, "ani", "salah-sandi-sekali").status_code == 401
    response = login(client, "ani", next_path="/stories")
    assert response.status_code == 303 and response.headers["location"] == "/stories"
    page = client.get("/").text
    assert "ani · analis" in page
    assert client.post("/logout", data={"csrf_token": csrf(page)}).headers["location"] == "/login"
    assert client.get("/").status_code == 303


def test_a_viewer_reads_but_a_correction_is_forbidden(db, users_file):
    client = make_client(db, users_file)
    login(client, "budi")
    page = client.get("/article/a1").text
    assert "Simpan nada" not in page  # no correction forms for a viewer
    response = client.post("/article/a1/correct", data={"csrf_token": csrf(page), "kind": "tone", "agency_id": "kpk", "new_value": "positive"})
    assert response.status_code == 403 and "hanya dapat membaca" in response.text
    with Store(db).session(read_only=True) as con:
        assert scalar(con, "SELECT count(*) FROM corrections") == 0


def test_the_analyst_is_named_in_the_correction(db, users_file):
    client = make_client(db, users_file)
    login(client, "ani")
    token = csrf(client.get("/article/a1").text)
    client.post("/article/a1/correct", data={"csrf_token": token, "kind": "tone", "agency_id": "kpk", "new_value": "neutral"})
    with Store(db).session(read_only=True) as con:
        assert scalar(con, "SELECT user_name FROM corrections") == "ani"


def test_repeated_failed_logins_are_throttled_and_the_login_page_does_not_redirect_off_site(db, users_file):
    client = make_client(db, users_file)
    for _ in range(5):
        assert login(client, "ani", "tebakan-salah-x").status_code == 401
    assert login(client, "ani").status_code == 429  # even the right password waits out the window
    other = make_client(db, users_file)
    for target in ("//evil.example.com/", "https://evil.example.com/", "/\\evil.example.com"):
        response = login(other, "budi", next_path=target)
        assert response.headers["location"] == "/", target


def test_login_throttle_window_passes():
    now = [0.0]
    throttle = LoginThrottle(max_failures=2, window_s=60, clock=lambda: now[0])
    throttle.failed("ani")
    throttle.failed("ani")
    assert throttle.blocked("ani") and not throttle.blocked("budi")
    now[0] = 61
    assert not throttle.blocked("ani")


def test_passwords_are_scrypt_hashes_and_bad_users_files_name_the_field(tmp_path):
    stored = hash_password("panjang-sekali-1")
    assert stored.startswith("scrypt$16384$8$1$") and "panjang" not in stored
    assert verify_password("panjang-sekali-1", stored) and not verify_password("panjang-sekali-2", stored)
    assert not verify_password("apa saja", "md5$abc")
    with pytest.raises(ValueError, match="at least 10"):
        hash_password("pendek")
    bad = tmp_path / "u.yaml"
    bad.write_text("users:\n  - name: ani\n    role: admin\n    password: scrypt$1$2$3$4$5\n")
    with pytest.raises(UsersFileError, match=r"users\[0\] \(ani\)\.role"):
        load_users(bad)
    bad.write_text("users:\n  - name: ani\n    role: analyst\n    password: rahasia\n")
    with pytest.raises(UsersFileError, match=r"\.password: an scrypt hash"):
        load_users(bad)


def test_serve_refuses_a_public_address_without_users_and_tls(db, users_file):
    from monitor.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--db", db, "--config", "tidak-ada.yaml"])
    assert result.exit_code == 2 and "--users" in result.output
    result = runner.invoke(app, ["serve", "--host", "192.168.1.5", "--db", db, "--users", str(users_file), "--config", "x.yaml"])
    assert result.exit_code == 2 and "--tls-cert" in result.output
    result = runner.invoke(app, ["serve", "--db", str(users_file.with_name("belum.duckdb")), "--config", "x.yaml"])
    assert result.exit_code == 2 and "no database" in result.output
    result = runner.invoke(app, ["serve", "--proxy-tls", "--db", db, "--config", "x.yaml"])  # a proxy brings others in
    assert result.exit_code == 2 and "--proxy-tls" in result.output and "--users" in result.output
    result = runner.invoke(app, ["serve", "--tls-cert", "c.pem", "--db", db, "--config", "x.yaml"])
    assert result.exit_code == 2 and "go together" in result.output
    missing = users_file.with_name("tidak-ada.yaml")
    result = runner.invoke(app, ["serve", "--users", str(missing), "--db", db, "--config", "x.yaml"])
    assert result.exit_code == 2 and "no users file" in result.output and not missing.with_name("tidak-ada.yaml.secret").exists()


def test_users_add_and_corrections_export_commands(db, tmp_path):
    from monitor.cli import app

    runner = CliRunner()
    users = tmp_path / "u.yaml"
    result = runner.invoke(app, ["users", "add", "citra", "--role", "analyst", "--users", str(users), "--password-stdin"],
                           input=PASSWORD + "\n")
    assert result.exit_code == 0 and load_users(users)["citra"].may_correct
    assert oct(users.stat().st_mode & 0o777) == "0o600"
    client = make_client(db)
    token = csrf(client.get("/article/a1").text)
    client.post("/article/a1/correct", data={"csrf_token": token, "kind": "tone", "agency_id": "kpk", "new_value": "neutral"})
    out = tmp_path / "koreksi.csv"
    result = runner.invoke(app, ["corrections", "export", "--out", str(out), "--db", db])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["article_id"], r["agency_id"], r["label"]) for r in rows] == [("a1", "kpk", "neutral")] and "text" not in rows[0]
    runner.invoke(app, ["corrections", "export", "--out", str(out), "--db", db, "--with-text"])
    assert next(csv.DictReader(out.open(encoding="utf-8")))["text"].startswith("Komisi Pemberantasan Korupsi ")
    with Store(db).session() as con:  # a sentence that a spreadsheet would run as a formula
        con.execute("UPDATE mentions SET sentences = ['=HYPERLINK(\"http://evil.example\",\"klik\")'] WHERE article_id = 'a1'")
    runner.invoke(app, ["corrections", "export", "--out", str(out), "--db", db, "--with-text"])
    assert next(csv.DictReader(out.open(encoding="utf-8")))["text"] == "'=HYPERLINK(\"http://evil.example\",\"klik\")"


def test_every_correction_is_logged_with_its_user_and_query_says_how_many_values_were_corrected(db, caplog):
    from monitor.cli import _corrected_items, app

    client = make_client(db)
    token = csrf(client.get("/article/a1").text)
    with caplog.at_level("INFO", logger="monitor.db.corrections"):
        client.post("/article/a1/correct", data={"csrf_token": token, "kind": "tone", "agency_id": "kpk", "new_value": "positive"})
    assert any(r.getMessage().startswith("correction by local:") and "tone a1/kpk" in r.getMessage() for r in caplog.records)
    today = LocalTime().today()
    result = CliRunner().invoke(app, ["query", "daily", "--db", db, "--agency", "kpk", "--since", str(today - dt.timedelta(days=2)),
                                      "--format", "csv", "--config", "tidak-ada.yaml"])
    assert result.exit_code == 0 and "1 value corrected by analysts (1 tone set, 0 mentions removed)" in result.output
    assert [(label, agency) for _, label, agency in _corrected_items(db)] == [("positive", "kpk")]


def test_downloads_offer_any_week(db):
    client = make_client(db)
    page = client.get("/downloads?week=2025-W02").text
    assert "/downloads/2025-W02/xlsx" in page
    assert client.get("/downloads?week=bukan-minggu").status_code == 400


def test_a_loopback_dashboard_without_users_refuses_other_host_names(db):
    from monitor.web.auth import answered_hosts

    app = create_app(WebSettings(db_path=db, secret="rahasia-uji", allowed_hosts=answered_hosts("127.0.0.1", False, [])))
    client = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
    assert client.get("/").status_code == 200
    assert client.get("/", headers={"Host": "localhost:8080"}).status_code == 200
    assert client.get("/", headers={"Host": "penyerang.example:8080"}).status_code == 400  # DNS rebinding
    assert answered_hosts("0.0.0.0", True, []) == ["*"] and answered_hosts("0.0.0.0", True, ["humas.go.id"]) == ["humas.go.id", "0.0.0.0"]


def test_logout_and_age_end_a_session_even_for_a_copied_cookie(db, users_file):
    client = make_client(db, users_file)
    login(client, "ani")
    page = client.get("/").text
    copied = dict(client.cookies)
    client.post("/logout", data={"csrf_token": csrf(page)})
    thief = make_client(db, users_file)
    thief.cookies.update(copied)
    assert thief.get("/").status_code == 303  # the cookie still verifies, the session is over
    from monitor.web.auth import Sessions

    now = [0.0]
    sessions = Sessions(hours=12, clock=lambda: now[0])
    sid = sessions.start()
    now[0] = 12 * 3600 - 1
    assert sessions.valid(sid)
    now[0] = 12 * 3600
    assert not sessions.valid(sid) and not sessions.valid(None)


def test_the_login_page_returns_to_the_filtered_page(db, users_file):
    client = make_client(db, users_file)
    target = client.get("/stories?agency=kpk&tone=negative").headers["location"]
    assert target == "/login?next=%2Fstories%3Fagency%3Dkpk%26tone%3Dnegative"
    assert login(client, "ani", next_path="/stories?agency=kpk&tone=negative").headers["location"] == "/stories?agency=kpk&tone=negative"


def test_an_empty_or_short_session_key_is_refused(tmp_path, monkeypatch):
    from monitor.web.auth import session_secret

    users = tmp_path / "users.yaml"
    (tmp_path / "users.yaml.secret").write_text("")
    with pytest.raises(UsersFileError, match="at least 32"):
        session_secret(users)
    monkeypatch.setenv("MONITOR_SESSION_SECRET", "pendek")
    with pytest.raises(UsersFileError, match="MONITOR_SESSION_SECRET"):
        session_secret(users)
    monkeypatch.delenv("MONITOR_SESSION_SECRET")
    (tmp_path / "users.yaml.secret").unlink()
    made = session_secret(users)
    assert len(made) >= 32 and session_secret(users) == made and oct((tmp_path / "users.yaml.secret").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("path", ["/stories?until=9999-12-31", "/stories?since=0001-01-01", "/downloads?week=9999-W52",
                                  "/downloads/9999-W52/summary.csv", "/downloads/0001-W01/report.html"])
def test_dates_at_the_ends_of_the_calendar_are_not_a_server_error(db, path):
    assert make_client(db).get(path).status_code in (200, 400)


def test_a_failed_download_leaves_no_temporary_folder(db, monkeypatch, tmp_path):
    import tempfile

    import monitor.web.app as web_app

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(web_app, "write_weekly", broken)
    with pytest.raises(OSError):
        make_client(db).get("/downloads/2026-W48/summary.csv")
    assert not list(tmp_path.glob("monitor-download-*"))


def test_a_locked_database_answers_503_and_says_the_correction_was_not_saved(db):
    import duckdb

    app = create_app(WebSettings(db_path=db, secret="rahasia-uji", lock_timeout_s=0.3))
    client = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
    token = csrf(client.get("/article/a1").text)
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({db!r}); print('held', flush=True); time.sleep(30)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        page = client.get("/")
        assert page.status_code == 503 and "Basis data sedang dipakai" in page.text
        post = client.post("/article/a1/correct", data={"csrf_token": token, "kind": "tone", "agency_id": "kpk", "new_value": "positive"})
        assert post.status_code == 503 and "Koreksi belum disimpan" in post.text
    finally:
        holder.kill()
        holder.wait()
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM corrections").fetchone()[0] == 0


def test_the_overview_counts_a_unit_s_correction_once_with_its_parent(db):
    from monitor.db import corrections

    with Store(db).session(read_only=True) as con:
        article = scalar(con, "SELECT arg_max(article_id, ts) FROM agency_mentions_direct WHERE agency_id = 'polda-metro'")
    with Store(db).session() as con:
        corrections.record_correction(con, article_id=article, agency_id="polda-metro", kind="tone", new_value="negative", user="ani")
    page = make_client(db, followed=("polri", "polda-metro")).get("/?days=28").text
    assert "Koreksi analis dipakai: 1 nada diubah, 0 sebutan dihapus" in page


def test_the_newer_of_two_corrections_made_at_the_same_moment_applies(db):
    from monitor.db import corrections

    same = dt.datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    with Store(db).session() as con:
        for n in range(1, 21):
            corrections.record_correction(con, article_id=f"a{n}", agency_id=None, kind="article", new_value="irrelevant", user="ani", now=same)
            corrections.record_correction(con, article_id=f"a{n}", agency_id=None, kind="article", new_value="relevant", user="ani", now=same)
        assert scalar(con, "SELECT count(*) FROM current_corrections WHERE new_value = 'relevant'") == 20
        assert [c["new_value"] for c in corrections.history(con, "a1")] == ["relevant", "irrelevant"]


def test_charts_drawn_from_several_threads_at_once_come_out_whole():
    """pyplot keeps global state: the dashboard's two chart requests of a page run in parallel threads; the same data
    gives the same file (a fixed SVG hash salt)."""
    from concurrent.futures import ThreadPoolExecutor

    from monitor.outputs.charts import tone_chart, volume_chart

    days = [dt.date(2026, 11, 1) + dt.timedelta(days=i) for i in range(28)]
    series = {"Negatif": [i % 3 for i in range(28)], "Netral": [2] * 28, "Positif": [1] * 28}
    serial = volume_chart(days, series, uri=False), tone_chart(days, [0.1 * (i % 5) - 0.2 for i in range(28)], uri=False)
    with ThreadPoolExecutor(4) as pool:
        drawn = list(pool.map(lambda k: volume_chart(days, series, uri=False) if k % 2 == 0 else
                              tone_chart(days, [0.1 * (i % 5) - 0.2 for i in range(28)], uri=False), range(12)))
    assert drawn == [serial[k % 2] for k in range(12)]
