//! Editing in place against a real database and the real router: saves write revisions, a
//! stale save is refused with both versions, bad input changes nothing, revisions restore,
//! drafts and scheduled items stay hidden from visitors, deletion can be undone, and the
//! preview renders through the visitors' sanitizer without saving.

use crate::common::{OWNER_ADDR, Reply, form, request, send, signed_in};
use axum::Router;
use axum::http::{Method, StatusCode};
use sqlx::PgPool;

const VISITOR_ADDR: &str = "198.51.100.7:2000";

/// A published project, as the demo content or an import would have left it (no revisions).
async fn project(pool: &PgPool, slug: &str, title: &str) -> i64 {
    sqlx::query_scalar(
        "insert into projects (slug, title, summary, body, tags, published_at)
         values ($1, $2, 'A summary.', 'The first body.', '{maps}', now() - interval '1 day')
         returning id",
    )
    .bind(slug)
    .bind(title)
    .fetch_one(pool)
    .await
    .expect("project")
}

async fn post_as_owner(app: &Router, cookie: &str, path: &str, fields: &[(&str, &str)]) -> Reply {
    send(
        app,
        request(Method::POST, path, &form(fields), Some(cookie), OWNER_ADDR),
    )
    .await
}

async fn visit(app: &Router, path: &str) -> Reply {
    send(app, request(Method::GET, path, "", None, VISITOR_ADDR)).await
}

/// The fields of a project's form, with `changes` applied.
fn project_form<'a>(
    version: &'a str,
    intent: &'a str,
    changes: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("version", version),
        ("intent", intent),
        ("title", "Tide tables"),
        ("slug", "tide-tables"),
        ("summary", "A summary."),
        ("tags", "maps"),
        ("body", "The first body."),
    ];
    for (name, value) in changes {
        fields.retain(|(n, _)| n != name);
        fields.push((name, value));
    }
    fields
}

async fn revisions(pool: &PgPool, id: i64) -> Vec<(i32, String)> {
    sqlx::query_as(
        "select version, action from revisions where kind = 'project' and item_id = $1 order by version",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .expect("revisions")
}

async fn title_and_version(pool: &PgPool, id: i64) -> (String, i32) {
    sqlx::query_as("select title, version from projects where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("project")
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_save_is_a_revision_and_a_stale_save_shows_both_versions(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let id = project(&pool, "tide-tables", "Tide tables").await;
    let path = format!("/owner/edit/project/{id}");

    let saved = post_as_owner(
        &app,
        &cookie,
        &path,
        &project_form("1", "save", &[("title", "Tide tables, revised")]),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), "/projects/tide-tables?saved");
    assert_eq!(
        title_and_version(&pool, id).await,
        ("Tide tables, revised".to_owned(), 2)
    );
    assert_eq!(
        revisions(&pool, id).await,
        [(1, "baseline".to_owned()), (2, "save".to_owned())],
        "the state before the first edit is kept too"
    );

    // A second tab still holds version 1.
    let stale = post_as_owner(
        &app,
        &cookie,
        &path,
        &project_form("1", "save", &[("title", "Tide tables from the other tab")]),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.body.contains("This changed while you were editing"));
    assert!(
        stale.body.contains("Tide tables, revised"),
        "theirs is shown"
    );
    assert!(
        stale.body.contains("Tide tables from the other tab"),
        "mine is kept in the form"
    );
    assert!(
        stale.body.contains(r#"name="version" value="2""#),
        "saving again replaces version 2 knowingly"
    );
    assert_eq!(
        title_and_version(&pool, id).await,
        ("Tide tables, revised".to_owned(), 2),
        "nothing was overwritten"
    );

    // Saving again from the conflict form, now at version 2, is a deliberate overwrite.
    let again = post_as_owner(
        &app,
        &cookie,
        &path,
        &project_form("2", "save", &[("title", "Tide tables from the other tab")]),
    )
    .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(title_and_version(&pool, id).await.1, 3);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn two_saves_of_one_version_at_once_never_both_win(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let id = project(&pool, "tide-tables", "Tide tables").await;
    let path = format!("/owner/edit/project/{id}");
    let one = project_form("1", "save", &[("title", "From tab one")]);
    let two = project_form("1", "save", &[("title", "From tab two")]);
    let (a, b) = tokio::join!(
        post_as_owner(&app, &cookie, &path, &one),
        post_as_owner(&app, &cookie, &path, &two),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::SEE_OTHER, StatusCode::CONFLICT]);
    assert_eq!(title_and_version(&pool, id).await.1, 2);
    assert_eq!(revisions(&pool, id).await.len(), 2);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn refused_input_changes_nothing_and_names_the_field(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let id = project(&pool, "tide-tables", "Tide tables").await;
    project(&pool, "harbour-map", "Harbour map").await;
    let path = format!("/owner/edit/project/{id}");
    for (changes, message) in [
        (
            vec![("slug", "harbour-map")],
            "Another project already has this address",
        ),
        (vec![("slug", "Not A Slug")], "Use lowercase letters"),
        (vec![("title", "")], "Title is required"),
        (vec![("year", "1492")], "Give a year from 1900 to 2200"),
        (
            vec![("live_url", "javascript:alert(1)")],
            "Start the address with https://",
        ),
        (
            vec![("cover", "/media/0123456789abcdef0123456789abcdef-1600.webp")],
            "Describe the picture",
        ),
    ] {
        let reply = post_as_owner(&app, &cookie, &path, &project_form("1", "save", &changes)).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{changes:?}"
        );
        assert!(reply.body.contains(message), "{changes:?}: {message}");
        assert!(reply.body.contains("Nothing was saved"), "{changes:?}");
        assert!(reply.body.contains(r#"aria-invalid="true""#), "{changes:?}");
    }
    let unknown = post_as_owner(&app, &cookie, &path, &project_form("1", "destroy", &[])).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let no_version = post_as_owner(&app, &cookie, &path, &[("title", "x")]).await;
    assert_eq!(no_version.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        title_and_version(&pool, id).await,
        ("Tide tables".to_owned(), 1)
    );
    assert!(revisions(&pool, id).await.is_empty());
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn any_revision_can_be_viewed_and_restored_as_a_new_one(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let id = project(&pool, "tide-tables", "Tide tables").await;
    let path = format!("/owner/edit/project/{id}");
    let saved = post_as_owner(
        &app,
        &cookie,
        &path,
        &project_form("1", "save", &[("body", "The first body.\nA second line.")]),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);

    let history = format!("/owner/history/project/{id}");
    let page = send(
        &app,
        request(
            Method::GET,
            &format!("{history}?v=2"),
            "",
            Some(&cookie),
            OWNER_ADDR,
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("What changed since version 1."));
    assert!(page.body.contains("+ A second line."), "{}", page.body);
    assert!(
        !page.body.contains("Restore version 2"),
        "the current version has nothing to restore"
    );
    let older = send(
        &app,
        request(
            Method::GET,
            &format!("{history}?v=1"),
            "",
            Some(&cookie),
            OWNER_ADDR,
        ),
    )
    .await;
    assert!(older.body.contains("Restore version 1"), "{}", older.body);
    assert!(older.body.contains("As it was before your first edit"));

    // Restoring version 1 over version 2 makes version 3, with version 1's text.
    let restored = post_as_owner(
        &app,
        &cookie,
        &format!("{history}/restore"),
        &[("version", "1"), ("base", "2")],
    )
    .await;
    assert_eq!(restored.status, StatusCode::SEE_OTHER, "{}", restored.body);
    let body: String = sqlx::query_scalar("select body from projects where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("body");
    assert_eq!(body, "The first body.");
    assert_eq!(
        revisions(&pool, id).await.last(),
        Some(&(3, "restore".to_owned()))
    );

    // A restore from a stale page is a conflict like any save.
    let stale = post_as_owner(
        &app,
        &cookie,
        &format!("{history}/restore"),
        &[("version", "2"), ("base", "2")],
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(title_and_version(&pool, id).await.1, 3);

    // Without the owner's session the history is not there to read.
    let anonymous = visit(&app, &history).await;
    assert_ne!(anonymous.status, StatusCode::OK);
    assert!(!anonymous.body.contains("A second line"));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn drafts_and_scheduled_items_are_only_the_owners(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let created = post_as_owner(
        &app,
        &cookie,
        "/owner/new/project",
        &[("title", "Secret Harbour!")],
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(created.location(), "/projects/secret-harbour?edit");
    let (id, version): (i64, i32) =
        sqlx::query_as("select id, version from projects where slug = 'secret-harbour'")
            .fetch_one(&pool)
            .await
            .expect("created");
    assert_eq!(version, 1);

    let hidden = |reply: &Reply| {
        reply.status == StatusCode::NOT_FOUND && !reply.body.contains("Secret Harbour")
    };
    assert!(hidden(&visit(&app, "/projects/secret-harbour").await));
    assert!(
        !visit(&app, "/sitemap.xml")
            .await
            .body
            .contains("secret-harbour")
    );
    let owner_view = send(
        &app,
        request(
            Method::GET,
            "/projects/secret-harbour",
            "",
            Some(&cookie),
            OWNER_ADDR,
        ),
    )
    .await;
    assert_eq!(owner_view.status, StatusCode::OK);
    assert!(owner_view.body.contains("Draft: only you can see it"));

    let path = format!("/owner/edit/project/{id}");
    let fields = |version, intent, at| {
        vec![
            ("version", version),
            ("intent", intent),
            ("title", "Secret Harbour!"),
            ("slug", "secret-harbour"),
            ("publish_at", at),
        ]
    };
    let past = post_as_owner(
        &app,
        &cookie,
        &path,
        &fields("1", "schedule", "2001-01-01T00:00"),
    )
    .await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(past.body.contains("Choose a time to come"));

    let scheduled = post_as_owner(
        &app,
        &cookie,
        &path,
        &fields("1", "schedule", "2099-06-01T09:30"),
    )
    .await;
    assert_eq!(
        scheduled.status,
        StatusCode::SEE_OTHER,
        "{}",
        scheduled.body
    );
    assert!(hidden(&visit(&app, "/projects/secret-harbour").await));
    let owner_view = send(
        &app,
        request(
            Method::GET,
            "/projects/secret-harbour",
            "",
            Some(&cookie),
            OWNER_ADDR,
        ),
    )
    .await;
    assert!(
        owner_view
            .body
            .contains("Scheduled for 2099-06-01 09:30 UTC")
    );

    let published = post_as_owner(&app, &cookie, &path, &fields("2", "publish", "")).await;
    assert_eq!(published.status, StatusCode::SEE_OTHER);
    let seen = visit(&app, "/projects/secret-harbour").await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.body.contains("Secret Harbour!"));
    assert!(
        !seen.body.contains("owner-tools"),
        "visitors get no owner tools"
    );
    assert!(
        visit(&app, "/sitemap.xml")
            .await
            .body
            .contains("secret-harbour")
    );

    let unpublished = post_as_owner(&app, &cookie, &path, &fields("3", "unpublish", "")).await;
    assert_eq!(unpublished.status, StatusCode::SEE_OTHER);
    assert!(hidden(&visit(&app, "/projects/secret-harbour").await));
    let actions: Vec<String> = revisions(&pool, id)
        .await
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    assert_eq!(actions, ["create", "schedule", "publish", "unpublish"]);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_deletion_can_be_undone(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let id = project(&pool, "tide-tables", "Tide tables").await;
    let stale = post_as_owner(
        &app,
        &cookie,
        &format!("/owner/edit/project/{id}/delete"),
        &[("version", "7")],
    )
    .await;
    assert_eq!(
        stale.status,
        StatusCode::CONFLICT,
        "a stale page deletes nothing"
    );

    let deleted = post_as_owner(
        &app,
        &cookie,
        &format!("/owner/edit/project/{id}/delete"),
        &[("version", "1")],
    )
    .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        deleted.location(),
        format!("/owner/content?deleted=project:{id}")
    );
    assert_eq!(
        visit(&app, "/projects/tide-tables").await.status,
        StatusCode::NOT_FOUND
    );
    let content = send(
        &app,
        request(
            Method::GET,
            deleted.location(),
            "",
            Some(&cookie),
            OWNER_ADDR,
        ),
    )
    .await;
    assert!(
        content
            .body
            .contains("Deleted \u{201c}Tide tables\u{201d}."),
        "{}",
        content.body
    );
    // Its history is kept, under the name it last had, offering to bring it back.
    let history = send(
        &app,
        request(
            Method::GET,
            &format!("/owner/history/project/{id}"),
            "",
            Some(&cookie),
            OWNER_ADDR,
        ),
    )
    .await;
    assert_eq!(history.status, StatusCode::OK);
    assert!(
        history
            .body
            .contains("History of \u{201c}Tide tables\u{201d}")
    );
    assert!(history.body.contains(r#"data-testid="undelete""#));

    let back = post_as_owner(
        &app,
        &cookie,
        &format!("/owner/history/project/{id}/undelete"),
        &[("go", "1")],
    )
    .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let seen = visit(&app, "/projects/tide-tables").await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.body.contains("The first body."));
    assert_eq!(
        title_and_version(&pool, id).await.1,
        3,
        "same id, a new version"
    );
    let again = post_as_owner(
        &app,
        &cookie,
        &format!("/owner/history/project/{id}/undelete"),
        &[("go", "1")],
    )
    .await;
    assert_eq!(
        again.status,
        StatusCode::NOT_FOUND,
        "only a deleted item comes back"
    );
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_preview_uses_the_visitors_renderer_and_saves_nothing(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let id = project(&pool, "tide-tables", "Tide tables").await;
    let reply = post_as_owner(
        &app,
        &cookie,
        &format!("/owner/edit/project/{id}"),
        &project_form(
            "1",
            "preview",
            &[(
                "body",
                "**bold** <script>alert(1)</script> [x](javascript:alert(2))",
            )],
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.body.contains("<strong>bold</strong>"),
        "{}",
        reply.body
    );
    assert!(!reply.body.contains("<script>alert(1)"));
    assert!(!reply.body.contains("href=\"javascript:"));
    assert!(reply.body.contains("nothing is saved until you save"));
    assert_eq!(title_and_version(&pool, id).await.1, 1);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_profile_is_edited_where_it_shows(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let form_page = send(
        &app,
        request(Method::GET, "/?edit", "", Some(&cookie), OWNER_ADDR),
    )
    .await;
    assert_eq!(form_page.status, StatusCode::OK);
    assert!(form_page.body.contains(r#"action="/owner/edit/profile/1""#));
    assert!(
        form_page.body.contains(r#"name="version" value="0""#),
        "no profile yet"
    );
    let visitor_edit = visit(&app, "/?edit").await;
    assert!(
        !visitor_edit.body.contains("edit-form"),
        "?edit means nothing to visitors"
    );

    let saved = post_as_owner(
        &app,
        &cookie,
        "/owner/edit/profile/1",
        &[
            ("version", "0"),
            ("back", "/"),
            ("name", "Ada Quill"),
            ("headline", "I draw maps of the sea"),
            ("links", "GitHub | https://github.com/ada"),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), "/?saved");
    let home = visit(&app, "/").await;
    assert!(home.body.contains("I draw maps of the sea"));
    for owner_only in ["/owner.js", "/owner.css", "owner-tools", "edit-form"] {
        assert!(
            !home.body.contains(owner_only),
            "visitors get no {owner_only}"
        );
    }
    let about = visit(&app, "/about").await;
    assert!(about.body.contains(r#"href="https://github.com/ada""#));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn projects_move_in_the_owners_order(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let first = project(&pool, "first", "First").await;
    let second = project(&pool, "second", "Second").await;
    sqlx::query("update projects set sort_order = case slug when 'first' then 1 else 2 end")
        .execute(&pool)
        .await
        .expect("order");
    let moved = post_as_owner(
        &app,
        &cookie,
        &format!("/owner/edit/project/{second}/move"),
        &[("direction", "up")],
    )
    .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
    let order: Vec<i64> = sqlx::query_scalar("select id from projects order by sort_order")
        .fetch_all(&pool)
        .await
        .expect("order");
    assert_eq!(order, [second, first]);
    let index = visit(&app, "/projects").await.body;
    assert!(index.find("Second") < index.find("First"));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn picture_fields_offer_the_media_library_and_a_chosen_cover_gets_its_widths(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let id = project(&pool, "tide-tables", "Tide tables").await;
    sqlx::query(
        "with m as (insert into media (key, alt, width, height, original_bytes)
                    values ('0123456789abcdef0123456789abcdef', 'A gull over the marsh', 720, 480, 1234) returning id)
         insert into media_variants (media_id, width, height, data)
         select id, w, w * 2 / 3, '\\x00' from m, unnest(array[480, 720]) w",
    )
    .execute(&pool)
    .await
    .expect("media");
    let cover = "/media/0123456789abcdef0123456789abcdef-720.webp";
    let page = send(
        &app,
        request(
            Method::GET,
            "/projects/tide-tables?edit",
            "",
            Some(&cookie),
            OWNER_ADDR,
        ),
    )
    .await;
    assert!(
        page.body.contains(r#"list="edit-pictures""#),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!(
        r#"<option value="{cover}">A gull over the marsh</option>"#
    )));

    let saved = post_as_owner(
        &app,
        &cookie,
        &format!("/owner/edit/project/{id}"),
        &project_form("1", "save", &[("cover", cover), ("cover_alt", "A gull")]),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let srcset: String = sqlx::query_scalar("select cover_srcset from projects where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("srcset");
    assert_eq!(
        srcset,
        "/media/0123456789abcdef0123456789abcdef-480.webp 480w, /media/0123456789abcdef0123456789abcdef-720.webp 720w"
    );
    let seen = visit(&app, "/projects/tide-tables").await;
    assert!(
        seen.body.contains("720w"),
        "the case study's cover has its widths"
    );
}

/// The stored timeline, newest first, as `role@organisation start..end`.
async fn timeline(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select role || '@' || organisation || ' ' || to_char(starts_on, 'YYYY-MM') || '..'
                || coalesce(to_char(ends_on, 'YYYY-MM'), 'now')
         from experience order by sort_order",
    )
    .fetch_all(pool)
    .await
    .expect("experience")
}

async fn skills(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("select category || ':' || name from skills order by sort_order")
        .fetch_all(pool)
        .await
        .expect("skills")
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn skills_and_the_timeline_are_edited_with_the_profile(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let profile = [("version", "0"), ("back", "/about"), ("name", "Ada Quill")];
    let mut fields = profile.to_vec();
    fields.extend([
        // Typed oldest first, in two entries and a blank one: stored newest first.
        ("experience-0-role", "Cartographer"),
        ("experience-0-organisation", "Harbour Office"),
        ("experience-0-start", "2015-04"),
        ("experience-0-end", "2019-08"),
        ("experience-0-summary", "Charted the\nestuary."),
        ("experience-1-role", "Lead designer"),
        ("experience-1-organisation", "Tidewater"),
        ("experience-1-start", "2019-09"),
        ("experience-2-role", ""),
        (
            "skills",
            "Languages: Rust, SQL, Rust\n\n  Design : Maps, Type ",
        ),
    ]);
    let saved = post_as_owner(&app, &cookie, "/owner/edit/profile/1", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), "/about?saved");
    assert_eq!(
        timeline(&pool).await,
        [
            "Lead designer@Tidewater 2019-09..now",
            "Cartographer@Harbour Office 2015-04..2019-08"
        ]
    );
    assert_eq!(
        skills(&pool).await,
        [
            "Languages:Rust",
            "Languages:SQL",
            "Design:Maps",
            "Design:Type"
        ]
    );
    let about = visit(&app, "/about").await.body;
    assert!(about.find("Lead designer") < about.find("Cartographer"));
    assert!(about.contains("Charted the estuary."));
    assert!(about.contains("Maps, Type"));

    // The editor shows each entry as its own fields, and a blank one to add another.
    let editor = send(
        &app,
        request(Method::GET, "/about?edit", "", Some(&cookie), OWNER_ADDR),
    )
    .await
    .body;
    assert!(editor.contains(r#"name="experience-1-role" type="text" value="Cartographer""#));
    assert!(editor.contains(r#"name="experience-2-role" type="text" value="""#));
    assert!(editor.contains("Languages: Rust, SQL\nDesign: Maps, Type"));
    // Their limits are per item, which the browser cannot count: it must not cut the text.
    for list in [r#"name="skills""#, r#"name="links""#] {
        let at = editor.find(list).expect(list);
        let tag = &editor[at..at + editor[at..].find('>').expect("tag end")];
        assert!(!tag.contains("maxlength"), "{tag}");
    }

    // Removing one entry is a new version; the revision holds the text both ways.
    let mut fields = vec![("version", "1"), ("back", "/about"), ("name", "Ada Quill")];
    fields.extend([
        ("experience-0-role", "Lead designer"),
        ("experience-0-organisation", "Tidewater"),
        ("experience-0-start", "2019-09"),
        ("experience-1-role", "Cartographer"),
        ("experience-1-organisation", "Harbour Office"),
        ("experience-1-start", "2015-04"),
        ("experience-1-end", "2019-08"),
        ("experience-1-remove", "on"),
        ("skills", "Languages: Rust"),
    ]);
    let saved = post_as_owner(&app, &cookie, "/owner/edit/profile/1", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        timeline(&pool).await,
        ["Lead designer@Tidewater 2019-09..now"]
    );
    assert_eq!(skills(&pool).await, ["Languages:Rust"]);

    // Restoring version 1 brings both back, as a new version.
    let restored = post_as_owner(
        &app,
        &cookie,
        "/owner/history/profile/1/restore",
        &[("version", "1"), ("base", "2")],
    )
    .await;
    assert_eq!(restored.status, StatusCode::SEE_OTHER, "{}", restored.body);
    assert_eq!(timeline(&pool).await.len(), 2);
    assert_eq!(skills(&pool).await.len(), 4);
    let version: i32 = sqlx::query_scalar("select version from profile")
        .fetch_one(&pool)
        .await
        .expect("version");
    assert_eq!(version, 3);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_bad_timeline_or_skill_list_changes_nothing(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let entry = |end: &'static str, role: &'static str| {
        vec![
            ("version", "0"),
            ("name", "Ada Quill"),
            ("experience-0-role", role),
            ("experience-0-organisation", "Tidewater"),
            ("experience-0-start", "2019-09"),
            ("experience-0-end", end),
        ]
    };
    for (fields, field, message) in [
        (
            entry("2018-01", "Designer"),
            "experience",
            "it ends before it starts",
        ),
        (
            entry("September", "Designer"),
            "experience",
            "give the end as a month",
        ),
        (
            entry("", "Designer | Lead"),
            "experience",
            "a role cannot contain |",
        ),
        (entry("", ""), "experience", "Entry 1: give the role"),
        (
            vec![("version", "0"), ("name", "Ada"), ("skills", "Rust, SQL")],
            "skills",
            "needs a group, a colon",
        ),
        (
            vec![("version", "0"), ("name", "Ada"), ("skills", "A: x\nA: y")],
            "skills",
            "is there twice",
        ),
    ] {
        let refused = post_as_owner(&app, &cookie, "/owner/edit/profile/1", &fields).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{message}: {}",
            refused.body
        );
        assert!(
            refused.body.contains(message),
            "{message}: {}",
            refused.body
        );
        // Beside its field.
        let at = refused
            .body
            .find(&format!(r#"data-testid="{field}-error""#))
            .expect("the field's message");
        assert!(
            refused.body[at..]
                .chars()
                .take(300)
                .collect::<String>()
                .contains(message),
            "{message}"
        );
    }
    let profiles: i64 = sqlx::query_scalar("select count(*) from profile")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(profiles, 0);
    assert!(timeline(&pool).await.is_empty());
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_live_preview_renders_as_visitors_see_it(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let text = "## Tides\n\n**bold** <script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))";
    let reply = post_as_owner(&app, &cookie, "/owner/preview/project", &[("text", text)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(reply.headers["cache-control"], "private, no-store");
    assert_eq!(
        reply.body,
        app::content::markdown::render_sized(text, &Default::default()).html,
        "the visitors' renderer"
    );
    assert!(reply.body.contains("<strong>bold</strong>"));
    for hostile in ["<script", "<img", "href=\"javascript"] {
        assert!(!reply.body.contains(hostile), "{hostile}: {}", reply.body);
    }
    let long = "x".repeat(app::editor::BODY_MAX + 1);
    let refused = post_as_owner(&app, &cookie, "/owner/preview/post", &[("text", &long)]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = post_as_owner(&app, &cookie, "/owner/preview/poem", &[("text", "x")]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_project_dragged_to_a_place_takes_it(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let mut ids = Vec::new();
    for slug in ["a", "b", "c", "d"] {
        ids.push(project(&pool, slug, &slug.to_uppercase()).await);
    }
    sqlx::query("update projects set sort_order = id")
        .execute(&pool)
        .await
        .expect("order");
    let order = || async {
        sqlx::query_scalar::<_, String>("select slug from projects order by sort_order, id")
            .fetch_all(&pool)
            .await
            .expect("order")
            .join("")
    };
    for (id, position, expected) in [
        (ids[0], "2", "bcad"),
        (ids[3], "0", "dbca"),
        (ids[1], "99", "dcab"),
    ] {
        let moved = post_as_owner(
            &app,
            &cookie,
            &format!("/owner/edit/project/{id}/move"),
            &[("position", position)],
        )
        .await;
        assert_eq!(moved.status, StatusCode::SEE_OTHER);
        assert_eq!(order().await, expected);
    }
    // From the list's script (asking for JSON), no page is needed back.
    let mut scripted = request(
        Method::POST,
        &format!("/owner/edit/project/{}/move", ids[3]),
        &form(&[("position", "3")]),
        Some(&cookie),
        OWNER_ADDR,
    );
    scripted.headers_mut().insert(
        axum::http::header::ACCEPT,
        "application/json".parse().expect("header"),
    );
    assert_eq!(send(&app, scripted).await.status, StatusCode::NO_CONTENT);
    assert_eq!(order().await, "cabd");
    let refused = post_as_owner(
        &app,
        &cookie,
        &format!("/owner/edit/project/{}/move", ids[0]),
        &[("position", "-1")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(order().await, "cabd");
}
