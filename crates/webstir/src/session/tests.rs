use super::*;

fn def() -> RouteDefinition {
    RouteDefinition::new("r", webstir_manifest::HttpMethod::Get, "/r")
}

#[test]
fn flash_declarations_are_checked() {
    use webstir_manifest::FlashPublish;
    let ok = def().flash(
        FlashSpec::default()
            .consume("notice")
            .publish(FlashPublish::new("saved").level("success").when("success")),
    );
    assert!(check(&ok).is_none());
    let bad_level = def().flash(FlashSpec::default().publish(FlashPublish::new("x").level("loud")));
    let (key, message) = check(&bad_level).unwrap();
    assert_eq!(key, "flash.publish");
    assert!(message.contains("level 'loud'"), "{message}");
    let bad_when =
        def().flash(FlashSpec::default().publish(FlashPublish::new("x").when("sometimes")));
    assert!(check(&bad_when).unwrap().1.contains("when 'sometimes'"));
    let empty = def().flash(FlashSpec::default().publish(FlashPublish::new(" ")));
    assert!(check(&empty).is_some());
}

#[test]
fn routes_without_declarations_have_no_session_spec() {
    assert!(route_spec(&def()).is_none());
    let spec = route_spec(
        &def().session(webstir_manifest::SessionSpec::new(SessionMode::Required).write(true)),
    )
    .unwrap();
    assert!(spec.declared && spec.required && spec.write);
}

fn memory_sessions() -> Sessions {
    Sessions(Arc::new(Inner {
        codec: cookie::CookieCodec::new("s", b"0123456789abcdef0123456789abcdef", 60, false),
        max_age_ms: 60_000,
        store: Sweeping::memory(),
    }))
}

#[tokio::test]
async fn runtime_state_is_kept_apart_from_values_and_survives_a_round_trip() {
    let sessions = memory_sessions();
    let route =
        route_spec(&def().session(webstir_manifest::SessionSpec::new(SessionMode::Optional)))
            .unwrap();
    let session = start(&sessions, &route, &http::HeaderMap::new())
        .await
        .ok()
        .unwrap();
    session.runtime_set("csrf", Some(serde_json::json!({"form": "token"})));
    assert!(session.exists());
    let cookie = session
        .save(false)
        .await
        .ok()
        .unwrap()
        .expect("a new session sets a cookie");
    let value = cookie
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::COOKIE, value.parse().unwrap());
    let again = start(&sessions, &route, &headers).await.ok().unwrap();
    assert_eq!(
        again.runtime_get("csrf"),
        Some(serde_json::json!({"form": "token"}))
    );
    assert_eq!(again.get::<serde_json::Value>("csrf").unwrap(), None);
    // A read-only request saves nothing and sends no cookie.
    assert!(again.save(false).await.ok().unwrap().is_none());
}
