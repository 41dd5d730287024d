//! The app in headless Chromium through chromedriver: the forms work with JavaScript disabled
//! (native submission, 303, flash), and with JavaScript on the panel refreshes as a fragment
//! without reloading the page.
//!
//! Needs `chromium` and `chromedriver` on `PATH` (Debian: `apt-get install chromium
//! chromium-driver`); without them the test says so and passes, unless
//! `WEBSTIR_REQUIRE_CHROMIUM=1` (CI) makes it fail. `WEBSTIR_NOTES_SCREENSHOT=path.png` saves a
//! screenshot of the notes page (docs/notes-example.png is made this way).

use std::io::Write as _;
use std::path::PathBuf;

use crate::webdriver::{Driver, Session, which};
use crate::{Browser, csrf_token, spawn};

fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let chromium = which("chromium").or_else(|| which("chromium-browser"));
    let driver = which("chromedriver");
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        _ if std::env::var("WEBSTIR_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1") => {
            panic!("WEBSTIR_REQUIRE_CHROMIUM=1 but chromium or chromedriver is not on PATH")
        }
        _ => {
            // Straight to stderr, past the test harness's capture, so the skip is seen.
            let _ = writeln!(
                std::io::stderr(),
                "skipping the Chromium test: chromium and chromedriver are not both on PATH \
                 (apt-get install chromium chromium-driver)"
            );
            None
        }
    }
}

async fn sign_in_with_the_form(page: &Session, base: &str, path: &str, email: &str) {
    page.goto(&format!("{base}{path}")).await;
    page.fill("#account-form input[name=email]", email).await;
    page.fill("#account-form input[name=password]", "correct horse")
        .await;
    page.click("#account-form button[type=submit]").await;
    page.wait_for_url("/notes").await;
}

#[tokio::test]
async fn forms_work_without_javascript_and_the_panel_refreshes_with_it() {
    let Some((chromium, chromedriver)) = browser_binaries() else {
        return;
    };
    let (server, _dir) = spawn().await;
    let base = format!("http://{}", server.addr());
    let driver = Driver::start(&chromedriver).await;

    // JavaScript off: sign up, then add notes with native form posts.
    let page = driver
        .session(&chromium, &["--blink-settings=scriptEnabled=false"])
        .await;
    sign_in_with_the_form(&page, &base, "/sign-up", "ada@example.com").await;
    let html = page.source().await;
    assert!(
        !html.contains(r#"data-js="on""#),
        "scripts must be off in this session"
    );
    assert_eq!(page.text(".flash").await, "Signed in as ada@example.com");

    for (title, body) in [
        ("Groceries", "Eggs, milk, bread"),
        ("Call the plumber", ""),
        ("Ideas <for> the weekend", "Hike & picnic"),
    ] {
        page.fill("#new-note input[name=title]", title).await;
        if !body.is_empty() {
            page.fill("#new-note textarea[name=body]", body).await;
        }
        page.click("#new-note button[type=submit]").await;
        page.wait_for_url("/notes").await;
        page.wait_for_text(".notes li.note h3", title).await;
        assert_eq!(page.text(".flash").await, "Note saved");
    }
    // The refresh button needs JavaScript: without it, it stays hidden.
    assert!(page.source().await.contains("id=\"refresh-panel\" hidden"));

    // A failed submission comes back with the error (still no JavaScript).
    page.click("#new-note button[type=submit]").await;
    page.wait_for_text("[data-field=title]", "Title is required")
        .await;
    page.goto(&format!("{base}/notes")).await;
    assert!(
        !page.source().await.contains("class=\"flash"),
        "flash shown once"
    );
    page.click("form[action='/sign-out'] button").await;
    page.wait_for_url("/sign-in").await;
    page.quit().await;

    // JavaScript on: sign in; the panel refreshes in place when a note appears elsewhere.
    let page = driver.session(&chromium, &[]).await;
    sign_in_with_the_form(&page, &base, "/sign-in", "ada@example.com").await;
    assert!(page.source().await.contains(r#"data-js="on""#));
    assert_eq!(page.text(".flash").await, "Signed in as ada@example.com");
    assert_eq!(page.text("#note-count strong").await, "3");

    if let Ok(path) = std::env::var("WEBSTIR_NOTES_SCREENSHOT") {
        std::fs::write(&path, page.screenshot().await).unwrap();
        eprintln!("screenshot saved to {path}");
    }

    // Another client on the same session adds a note over plain HTTP.
    let cookie = page
        .cookie("webstir_session")
        .await
        .expect("a session cookie");
    let mut other = Browser::new(&server);
    other.cookie = Some(format!("webstir_session={cookie}"));
    let token = csrf_token(&other.page("/notes").await, "/notes");
    let res = other
        .post("/notes", &[("_csrf", &token), ("title", "Added elsewhere")])
        .await;
    assert_eq!(res.status, 303, "{}", res.text());

    page.execute("window.__samePage = true;").await;
    page.click("#refresh-panel").await;
    page.wait_for_text("#note-count strong", "4").await;
    assert!(
        page.text("#note-count")
            .await
            .contains("latest: Added elsewhere")
    );
    assert_eq!(
        page.execute("return window.__samePage === true;").await,
        serde_json::json!(true),
        "the panel was replaced in place, not by a reload"
    );
    page.quit().await;
}
