"""Consent walls and bot checks told apart from the article (issue 14, kind 7), and news about privacy kept."""

import pytest

from monitor.ingest.interstitial import interstitial_reason

ARTICLE = "https://www.contoh.id/nasional/2026/11/29/kpk-geledah"
LONG_STORY = "Komisi Pemberantasan Korupsi menggeledah kantor dinas perhubungan pada Senin. " * 12


@pytest.mark.parametrize("final", [
    "https://www.contoh.id/consent?continue=%2Fnasional%2F2026%2F11%2F29%2Fkpk-geledah",
    "https://consent.contoh-cmp.com/?continue=https://www.contoh.id/nasional/2026/11/29/kpk-geledah",
    "https://www.contoh.id/cdn-cgi/challenge-platform/h/b/orchestrate",
    "https://www.contoh.id/gate?return=%2Fnasional%2F2026%2F11%2F29%2Fkpk-geledah",
    "https://www.contoh.id/cookies.html",
])
def test_a_redirect_to_a_wall_is_an_interstitial_whatever_the_page_says(final):
    assert interstitial_reason(ARTICLE, final, LONG_STORY, "KPK geledah kantor dinas") is not None


@pytest.mark.parametrize("requested, final", [
    ("http://www.tempo.co/politik/persetujuan-dpr-atas-calon-kapolri-1234567",
     "https://www.tempo.co/politik/persetujuan-dpr-atas-calon-kapolri-1234567"),
    ("https://a.id/news/usia-pensiun-pns-naik", "https://a.id/news/usia-pensiun-pns-naik/"),
    ("https://a.id/tekno/robot-pertanian-buatan-its", "https://a.id/tekno/robot-pertanian-buatan-its?utm_source=x"),
    ("https://a.id/read/1", "https://a.id/read/1?page=all"),
])
def test_an_article_slug_that_names_a_wall_word_is_not_a_wall(requested, final):
    assert interstitial_reason(requested, final, LONG_STORY, "Judul berita yang panjang dan biasa") is None


@pytest.mark.parametrize("title, text", [
    ("Just a moment...", None),
    ("Attention Required! | Cloudflare", "Sorry, you have been blocked."),
    ("Pilihan Cookie dan Privasi Anda", "Kami dan mitra kami menggunakan cookie untuk iklan yang dipersonalisasi."),
    ("Sebelum Anda melanjutkan ke Google", None),
    ("Beranda", "Tunggu sebentar. Memverifikasi bahwa Anda manusia. Ini mungkin memerlukan beberapa detik."),
    ("Contoh News", "We value your privacy. We and our partners store and access information on a device. Accept all. "
                    "Reject all. Manage preferences."),
])
def test_wall_wording_is_an_interstitial_on_the_articles_own_url(title, text):
    assert interstitial_reason(ARTICLE, ARTICLE, text, title) is not None


@pytest.mark.parametrize("title, text", [
    ("Kominfo Minta Platform Perbarui Kebijakan Privasi dan Batasi Cookie Pelacak",
     "Kementerian meminta platform digital memperbarui kebijakan privasi mereka. Platform juga diminta membatasi "
     "pemasangan cookie pelacak tanpa persetujuan pengguna, sesuai UU Pelindungan Data Pribadi."),
    ("PP Tunas: Platform Wajib Verifikasi Usia Anak Sebelum Membuat Akun Media Sosial",
     "Pemerintah mewajibkan konfirmasi usia pengguna anak. Platform harus menjelaskan kebijakan privasi dengan bahasa "
     "yang mudah dipahami anak dan orang tua."),
    ("Nataru, Bandara Soekarno-Hatta Perketat Pemeriksaan Keamanan Penumpang",
     "Petugas menambah pos pemeriksaan keamanan (security check) di terminal 3 untuk mengurai antrean."),
    ("Resep Kuki Cokelat Renyah untuk Natal",
     "Cookie atau kuki cokelat mudah dibuat di rumah dengan oven kecil. Siapkan mentega, gula, dan tepung."),
    ("Waspada Penipuan CAPTCHA Palsu yang Minta Pengguna Menjalankan Perintah",
     "BSSN mengingatkan warga tentang halaman 'saya bukan robot' palsu. " + "Pelaku meminta korban menempelkan perintah. " * 12),
])
def test_news_about_privacy_cookies_and_checks_is_still_news(title, text):
    assert interstitial_reason(ARTICLE, ARTICLE, text, title) is None
