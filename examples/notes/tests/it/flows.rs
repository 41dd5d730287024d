//! The app over real HTTP with a cookie jar: accounts, notes through CSRF-protected forms, flash,
//! kept form errors, the fragment, sign-out, and escaping of user text.

use serde_json::json;
use webstir_test::TestResponse;

use crate::{Browser, assert_redirect, csrf_token, note_ids, spawn};

fn code(res: &TestResponse) -> serde_json::Value {
    res.json()["errors"][0]["code"].clone()
}

async fn sign_up(b: &mut Browser, email: &str) {
    let res = b
        .submit(
            "/sign-up",
            "/sign-up",
            &[("email", email), ("password", "correct horse")],
        )
        .await;
    assert_redirect(&res, "/notes");
}

#[tokio::test]
async fn signing_up_and_in_with_a_password() {
    let (server, _dir) = spawn().await;
    let mut b = Browser::new(&server);

    // Pages that need a user send everyone else to the sign-in page.
    assert_redirect(&b.get("/notes").await, "/sign-in");
    assert_redirect(&b.get("/notes/1/edit").await, "/sign-in");
    assert_redirect(&b.get("/").await, "/notes");

    // A failed sign-up redirects back; the form shows the errors and the email once.
    let res = b
        .submit(
            "/sign-up",
            "/sign-up",
            &[("email", "not-an-email"), ("password", "short")],
        )
        .await;
    assert_redirect(&res, "/sign-up");
    let html = b.page("/sign-up").await;
    assert!(html.contains("Enter a valid email address"), "{html}");
    assert!(html.contains("Use at least 8 characters"), "{html}");
    assert!(html.contains(r#"value="not-an-email""#), "{html}");
    assert!(
        !html.contains("short"),
        "the password is never kept: {html}"
    );
    let html = b.page("/sign-up").await;
    assert!(!html.contains("Enter a valid email address"), "shown once");

    // Signing up signs in with a new session id: the anonymous cookie stops working.
    let anonymous = b.cookie.clone().unwrap();
    sign_up(&mut b, "Ada@Example.com").await;
    let signed_in = b.cookie.clone().unwrap();
    assert_ne!(anonymous, signed_in, "session.regenerate() on sign-in");
    let html = b.page("/notes").await;
    assert!(html.contains("Signed in as ada@example.com"), "{html}");
    assert!(
        !b.page("/notes").await.contains("Signed in as"),
        "flash once"
    );
    let mut stale = Browser::new(&server);
    stale.cookie = Some(anonymous);
    assert_redirect(&stale.get("/notes").await, "/sign-in");

    // The email is taken now.
    let mut other = Browser::new(&server);
    let res = other
        .submit(
            "/sign-up",
            "/sign-up",
            &[("email", "ada@example.com"), ("password", "something long")],
        )
        .await;
    assert_redirect(&res, "/sign-up");
    assert!(
        other
            .page("/sign-up")
            .await
            .contains("That email already has an account")
    );

    // Sign out: the session is deleted and the cookie cleared; replaying it finds nothing.
    let html = b.page("/notes").await;
    let token = csrf_token(&html, "/sign-out");
    let res = b.post("/sign-out", &[("_csrf", &token)]).await;
    assert_redirect(&res, "/sign-in");
    assert!(
        res.header("set-cookie").unwrap().contains("Max-Age=0"),
        "{:?}",
        res.headers
    );
    assert_eq!(b.cookie, None);
    let mut replay = Browser::new(&server);
    replay.cookie = Some(signed_in);
    assert_redirect(&replay.get("/notes").await, "/sign-in");
    assert_eq!(replay.get("/notes/panel").await.status, 401);

    // A wrong password: one message for the form, the email kept; then the right one.
    let res = b
        .submit(
            "/sign-in",
            "/sign-in",
            &[("email", "ada@example.com"), ("password", "wrong password")],
        )
        .await;
    assert_redirect(&res, "/sign-in");
    let html = b.page("/sign-in").await;
    assert!(html.contains("Email or password is incorrect"), "{html}");
    assert!(html.contains(r#"value="ada@example.com""#), "{html}");
    let res = b
        .submit(
            "/sign-in",
            "/sign-in",
            &[("email", "ada@example.com"), ("password", "correct horse")],
        )
        .await;
    assert_redirect(&res, "/notes");
    assert!(
        b.page("/notes")
            .await
            .contains("Signed in as ada@example.com")
    );
}

#[tokio::test]
async fn notes_are_created_edited_and_deleted_through_forms() {
    let (server, _dir) = spawn().await;
    let mut b = Browser::new(&server);
    sign_up(&mut b, "ada@example.com").await;
    b.page("/notes").await; // the sign-in flash

    // Create: 303 back to the list, "Note saved" once.
    let res = b
        .submit(
            "/notes",
            "/notes",
            &[("title", "Groceries"), ("body", "eggs, milk")],
        )
        .await;
    assert_redirect(&res, "/notes");
    let html = b.page("/notes").await;
    assert!(html.contains("Note saved"), "{html}");
    assert!(html.contains("Groceries") && html.contains("eggs, milk"));
    let ids = note_ids(&html);
    assert_eq!(ids.len(), 1);
    assert!(!b.page("/notes").await.contains("Note saved"), "flash once");

    // A failed submission: back to the form with the error and the values, no "Note saved".
    let res = b
        .submit(
            "/notes",
            "/notes",
            &[("title", "  "), ("body", "kept text")],
        )
        .await;
    assert_redirect(&res, "/notes");
    let html = b.page("/notes").await;
    assert!(html.contains("Title is required"), "{html}");
    assert!(html.contains(">kept text</textarea>"), "{html}");
    assert!(!html.contains("Note saved"), "{html}");
    let html = b.page("/notes").await;
    assert!(!html.contains("Title is required"), "errors shown once");

    // Update, with a failed attempt first (kept on the edit page).
    let id = ids[0];
    let edit = format!("/notes/{id}/edit");
    let action = format!("/notes/{id}");
    let html = b.page(&edit).await;
    assert!(html.contains(r#"value="Groceries""#), "{html}");
    let res = b
        .submit(&edit, &action, &[("title", ""), ("body", "changed")])
        .await;
    assert_redirect(&res, &edit);
    let html = b.page(&edit).await;
    assert!(html.contains("Title is required") && html.contains(">changed</textarea>"));
    let res = b
        .submit(&edit, &action, &[("title", "Shopping"), ("body", "bread")])
        .await;
    assert_redirect(&res, "/notes");
    let html = b.page("/notes").await;
    assert!(html.contains("Note saved") && html.contains("Shopping") && html.contains("bread"));
    assert!(!html.contains("Groceries"));

    // Another user can neither edit nor delete it.
    let mut bob = Browser::new(&server);
    sign_up(&mut bob, "bob@example.com").await;
    assert_eq!(bob.get(&edit).await.status, 404);
    bob.submit("/notes", "/notes", &[("title", "Bob's")]).await;
    let html = bob.page("/notes").await;
    let own = note_ids(&html)[0];
    let token = csrf_token(&html, &format!("/notes/{own}/delete"));
    let res = bob
        .post(&format!("/notes/{id}/delete"), &[("_csrf", &token)])
        .await;
    assert_eq!(res.status, 404, "{}", res.text());
    assert!(res.text().contains("Note not found"));

    // Delete.
    let res = b
        .submit("/notes", &format!("/notes/{id}/delete"), &[])
        .await;
    assert_redirect(&res, "/notes");
    let html = b.page("/notes").await;
    assert!(html.contains("Note deleted"), "{html}");
    assert!(note_ids(&html).is_empty(), "{html}");
}

#[tokio::test]
async fn forms_without_a_valid_unused_token_are_refused() {
    let (server, _dir) = spawn().await;
    let mut b = Browser::new(&server);
    sign_up(&mut b, "ada@example.com").await;
    let html = b.page("/notes").await;
    let token = csrf_token(&html, "/notes");

    let res = b.post("/notes", &[("title", "no token")]).await;
    assert_eq!(
        (res.status, code(&res)),
        (403, json!("csrf")),
        "{}",
        res.text()
    );
    let res = b
        .post("/notes", &[("_csrf", "not-the-token"), ("title", "wrong")])
        .await;
    assert_eq!((res.status, code(&res)), (403, json!("csrf")));
    let res = b
        .post("/notes", &[("_csrf", &token), ("title", "once")])
        .await;
    assert_redirect(&res, "/notes");
    let res = b
        .post("/notes", &[("_csrf", &token), ("title", "twice")])
        .await;
    assert_eq!((res.status, code(&res)), (403, json!("csrf")), "reused");

    // Another session's token is no good either.
    let mut mallory = Browser::new(&server);
    sign_up(&mut mallory, "mallory@example.com").await;
    let theirs = csrf_token(&mallory.page("/notes").await, "/notes");
    let res = b
        .post("/notes", &[("_csrf", &theirs), ("title", "x")])
        .await;
    assert_eq!((res.status, code(&res)), (403, json!("csrf")));

    let html = b.page("/notes").await;
    assert_eq!(
        note_ids(&html).len(),
        1,
        "only the valid submission: {html}"
    );
}

#[tokio::test]
async fn user_text_is_escaped() {
    let (server, _dir) = spawn().await;
    let mut b = Browser::new(&server);
    sign_up(&mut b, "ada@example.com").await;
    let title = "<script>alert('x')</script>";
    let body = r#""><img src=x onerror=alert(1)>"#;
    let res = b
        .submit("/notes", "/notes", &[("title", title), ("body", body)])
        .await;
    assert_redirect(&res, "/notes");
    let html = b.page("/notes").await;
    assert!(
        html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt;"),
        "{html}"
    );
    assert!(
        html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(!html.contains(title) && !html.contains("<img"), "{html}");

    // The same in the fragment and in kept form values.
    let panel = b.get("/notes/panel").await.text();
    assert!(
        panel.contains("&lt;script&gt;") && !panel.contains(title),
        "{panel}"
    );
    let res = b
        .submit("/notes", "/notes", &[("title", ""), ("body", body)])
        .await;
    assert_redirect(&res, "/notes");
    let html = b.page("/notes").await;
    assert!(
        html.contains("Title is required") && !html.contains("<img"),
        "{html}"
    );
}

#[tokio::test]
async fn the_panel_is_a_fragment() {
    let (server, _dir) = spawn().await;
    let mut b = Browser::new(&server);
    sign_up(&mut b, "ada@example.com").await;
    b.submit("/notes", "/notes", &[("title", "First")]).await;
    b.submit("/notes", "/notes", &[("title", "Second")]).await;

    let res = b.get("/notes/panel").await;
    assert_eq!(res.status, 200, "{}", res.text());
    for (name, value) in [
        ("x-webstir-fragment-target", "note-count"),
        ("x-webstir-fragment-selector", "#note-count"),
        ("x-webstir-fragment-mode", "replace"),
        ("x-webstir-fragment-cache", "bypass"),
        ("cache-control", "no-store"),
        ("content-type", "text/html; charset=utf-8"),
    ] {
        assert_eq!(res.header(name), Some(value), "{name}: {:?}", res.headers);
    }
    let html = res.text();
    assert!(html.contains(r#"data-count="2""#), "{html}");
    assert!(html.contains("latest: <em>Second</em>"), "{html}");
    assert!(!html.contains("<html"), "a fragment, not a page");

    // The page renders the same panel for browsers without JavaScript.
    let page = b.page("/notes").await;
    assert!(page.contains(r#"data-webstir-fragment-target="note-count""#));
    assert!(page.contains(r#"data-count="2""#));

    // Signed out: 401 with a fragment saying so.
    let mut anonymous = Browser::new(&server);
    let res = anonymous.get("/notes/panel").await;
    assert_eq!(res.status, 401);
    assert!(res.text().contains("Sign in"));
}
