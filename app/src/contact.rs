//! The contact form: its validation (shared by the server and the browser), the page, the
//! thank-you page, and the island that sends it without a reload.
//!
//! Without JavaScript the form posts to `/contact` (handled in the server crate), which answers
//! with a redirect to `/contact/thanks`, or with this page again showing the visitor's input and
//! a message beside each field that needs fixing. With JavaScript, the [`ContactEnhancer`]
//! island checks the fields at once with the same [`validate`], posts the same form asking for
//! JSON, and shows the server's answer in place. Either way the server validates again and
//! commits the message before anyone is told it was sent.
//!
//! The form itself is server-rendered markup, not an island: the island only listens and
//! updates the DOM the server wrote, which keeps the WASM small (no view code or props to
//! deserialize for a form most visitors never touch).

use crate::components::Field;
use crate::seo::Seo;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const NAME_MAX: usize = 100;
pub const EMAIL_MAX: usize = 254;
pub const MESSAGE_MIN: usize = 10;
pub const MESSAGE_MAX: usize = 5000;
/// The honeypot: a field people never see or fill in, and form-filling bots usually do.
pub const HONEYPOT: &str = "website";

/// What a visitor typed, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactDraft {
    pub name: String,
    pub email: String,
    pub message: String,
}

/// A draft that passed [`validate`]: trimmed, line endings normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactMessage {
    pub name: String,
    pub email: String,
    pub message: String,
}

/// A message per field that needs fixing, plus one for the form as a whole (rate limit, outage).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
}

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// A form-level error only.
    pub fn form(message: impl Into<String>) -> Self {
        Self {
            form: Some(message.into()),
            ..Self::default()
        }
    }

    /// Each field's input id with its error, in the order the fields appear.
    fn by_field(&self) -> impl Iterator<Item = (&'static str, &Option<String>)> {
        FIELDS
            .iter()
            .map(|(_, id)| *id)
            .zip([&self.name, &self.email, &self.message])
    }

    /// The id of the first field with an error, in the order the fields appear.
    pub fn first_field(&self) -> Option<&'static str> {
        self.by_field()
            .find_map(|(id, error)| error.is_some().then_some(id))
    }

    /// How many fields need fixing.
    pub fn field_count(&self) -> usize {
        self.by_field().filter(|(_, error)| error.is_some()).count()
    }

    /// The line above the form: the form-level error, or how many fields need fixing.
    pub fn summary(&self) -> Option<String> {
        self.form.clone().or_else(|| match self.field_count() {
            0 => None,
            1 => Some("Please fix the field marked below.".to_owned()),
            n => Some(format!("Please fix the {n} fields marked below.")),
        })
    }
}

/// The JSON answer to a script's post: `{"ok":true}` or `{"ok":false,"errors":{...}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactReply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "FieldErrors::is_empty")]
    pub errors: FieldErrors,
}

/// Checks a draft the way the database's constraints would, with messages a visitor can act on.
pub fn validate(draft: &ContactDraft) -> Result<ContactMessage, FieldErrors> {
    let name = draft.name.trim();
    let email = draft.email.trim();
    let message = draft.message.replace("\r\n", "\n");
    let message = message.trim();
    let mut errors = FieldErrors::default();

    let name_len = name.chars().count();
    if name_len == 0 {
        errors.name = Some("Please enter your name.".into());
    } else if name_len > NAME_MAX {
        errors.name = Some(format!(
            "Please shorten your name to {NAME_MAX} characters or fewer."
        ));
    } else if name.chars().any(char::is_control) {
        errors.name = Some("Your name can't contain control characters.".into());
    }

    if email.is_empty() {
        errors.email = Some("Please enter your email address so I can reply.".into());
    } else if email.chars().count() > EMAIL_MAX {
        errors.email = Some(format!(
            "That address is longer than {EMAIL_MAX} characters."
        ));
    } else if !plausible_email(email) {
        errors.email = Some("Please enter an email address like name@example.com.".into());
    }

    let message_len = message.chars().count();
    if message_len == 0 {
        errors.message = Some("Please write a message.".into());
    } else if message_len < MESSAGE_MIN {
        errors.message = Some(format!(
            "Please write a little more (at least {MESSAGE_MIN} characters)."
        ));
    } else if message_len > MESSAGE_MAX {
        errors.message = Some(format!(
            "Please shorten your message to {MESSAGE_MAX} characters or fewer (it has {message_len})."
        ));
    } else if message
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        errors.message = Some("Your message can't contain control characters.".into());
    }

    if errors.is_empty() {
        Ok(ContactMessage {
            name: name.to_owned(),
            email: email.to_owned(),
            message: message.to_owned(),
        })
    } else {
        Err(errors)
    }
}

/// `local@domain.tld`: one `@`, a local part of at most 64 characters, a dotted domain of
/// letters, digits and hyphens (or an internationalised name), no spaces. Deliverability is the
/// reply's job; this catches typos.
pub fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.chars().count() <= 64
        && !local.contains('@')
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"\"(),:;<>[\\]".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.chars().count() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| {
            tld.chars().count() >= 2 && !tld.chars().all(|c| c.is_ascii_digit())
        });
    local_ok && domain_ok
}

/// What the server hands the contact page when it shows a refused post again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactSubmission {
    pub draft: ContactDraft,
    pub errors: FieldErrors,
}

/// The form's fields: the `name` each posts as, and the id of its input.
const FIELDS: [(&str, &str); 3] = [
    ("name", "contact-name"),
    ("email", "contact-email"),
    ("message", "contact-message"),
];

/// `/contact`: a short note, the form, and (hidden until a script sends the form) the thanks.
#[component]
pub fn ContactPage() -> impl IntoView {
    let ContactSubmission { draft, errors } = use_context().unwrap_or_default();
    view! {
        <Seo
            title="Contact".to_owned()
            description="Send a message: a project, a question, or just hello.".to_owned()
            path="/contact".to_owned()
        />
        <section class="contact" aria-labelledby="contact-heading">
            <h1 id="contact-heading">"Get in touch"</h1>
            <p class="lede">
                "Tell me about your project, a question, or just say hello. I read every message and reply within a few days."
            </p>
            <ContactForm draft errors/>
            <ThankYou heading_level=2 hidden=true/>
            <ContactEnhancer/>
        </section>
    }
    .into_any()
}

/// `/contact/thanks`, where a form posted without JavaScript lands.
#[component]
pub fn ContactThanksPage() -> impl IntoView {
    view! {
        <Seo
            title="Message sent".to_owned()
            description="Thank you for your message.".to_owned()
            path="/contact/thanks".to_owned()
            noindex=true
        />
        <ThankYou heading_level=1 hidden=false/>
    }
}

/// The confirmation shown once the message is stored.
#[component]
fn ThankYou(heading_level: u8, hidden: bool) -> impl IntoView {
    let heading = "Thank you, your message is on its way";
    view! {
        <section class="thanks" data-testid="contact-thanks" aria-labelledby="thanks-heading" hidden=hidden>
            {if heading_level == 1 {
                view! { <h1 id="thanks-heading" tabindex="-1">{heading}</h1> }.into_any()
            } else {
                view! { <h2 id="thanks-heading" tabindex="-1">{heading}</h2> }.into_any()
            }}
            <p>"It's saved, and I'll reply to the address you gave, usually within a few days."</p>
            <p><a href="/projects">"Browse the projects"</a>" or "<a href="/">"go back home"</a>"."</p>
        </section>
    }
}

/// The form as the server renders it: with the visitor's input and errors after a refused post.
#[component]
fn ContactForm(draft: ContactDraft, errors: FieldErrors) -> impl IntoView {
    view! {
        <form class="contact-form" method="post" action="/contact" novalidate data-testid="contact-form">
            <div class="form-summary" role="alert" data-testid="contact-summary">{errors.summary()}</div>
            <Field
                id=FIELDS[0].1
                name=FIELDS[0].0
                label="Your name"
                value=draft.name
                max=NAME_MAX
                autocomplete="name"
                error=errors.name
            />
            <Field
                id=FIELDS[1].1
                name=FIELDS[1].0
                label="Email address"
                kind="email"
                value=draft.email
                max=EMAIL_MAX
                autocomplete="email"
                error=errors.email
            />
            <Field
                id=FIELDS[2].1
                name=FIELDS[2].0
                label="Message"
                multiline=true
                value=draft.message
                max=MESSAGE_MAX
                hint=format!("At least {MESSAGE_MIN} characters.")
                error=errors.message
            />
            // Hidden from people and assistive technology, and out of the tab order.
            <div class="honeypot" aria-hidden="true">
                <label for="contact-website">"Leave this empty"</label>
                <input id="contact-website" name=HONEYPOT type="text" tabindex="-1" autocomplete="off"/>
            </div>
            <button type="submit" class="button">"Send message"</button>
        </form>
    }
    .into_any()
}

/// Sends the contact form without a page load, once hydrated; renders nothing itself.
#[island]
pub fn ContactEnhancer() -> impl IntoView {
    Effect::new(client::install);
}

/// Browser-side code; the server never runs it.
mod client {
    use super::{ContactDraft, FieldErrors, validate};
    use crate::components::described_by;
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{
        Document, Event, FormData, HtmlElement, HtmlFormElement, RequestInit, Response,
        UrlSearchParams,
    };

    const UNREACHABLE: &str = "The message could not be sent: the server did not answer. It is still here; please try again.";

    pub fn install() {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let Some(form) = document
            .query_selector("form.contact-form")
            .ok()
            .flatten()
            .and_then(|f| f.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        let sending = Rc::new(Cell::new(false));
        let on_submit = Closure::<dyn Fn(Event)>::new(move |event: Event| {
            event.prevent_default();
            if sending.get() {
                return;
            }
            let Some(form) = event
                .target()
                .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
            else {
                return;
            };
            if let Err(errors) = validate(&draft(&form)) {
                show(&document, &errors);
                return;
            }
            show(&document, &FieldErrors::default());
            set_sending(&form, true);
            sending.set(true);
            let (document, sending) = (document.clone(), sending.clone());
            leptos::task::spawn_local(async move {
                let result = send(&form).await;
                sending.set(false);
                set_sending(&form, false);
                match result {
                    Ok(()) => thank(&document, &form),
                    Err(errors) => show(&document, &errors),
                }
            });
        });
        let _ = form.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
        on_submit.forget();
    }

    /// The form's current fields.
    fn draft(form: &HtmlFormElement) -> ContactDraft {
        let data = FormData::new_with_form(form).ok();
        let field = |name: &str| {
            data.as_ref()
                .and_then(|d| d.get(name).as_string())
                .unwrap_or_default()
        };
        ContactDraft {
            name: field("name"),
            email: field("email"),
            message: field("message"),
        }
    }

    /// Writes `errors` beside their fields and above the form, and moves focus to the first
    /// field that needs fixing (the summary, a live region, announces the count).
    fn show(document: &Document, errors: &FieldErrors) {
        let by_id = |id: &str| document.get_element_by_id(id);
        if let Some(summary) = document.query_selector(".form-summary").ok().flatten() {
            summary.set_text_content(errors.summary().as_deref());
        }
        for (id, error) in errors.by_field() {
            if let Some(text) = by_id(&format!("{id}-error")) {
                text.set_text_content(error.as_deref());
            }
            let Some(input) = by_id(id) else { continue };
            let has_hint = by_id(&format!("{id}-hint")).is_some();
            let _ = match described_by(id, has_hint, error.is_some()) {
                Some(ids) => input.set_attribute("aria-describedby", &ids),
                None => input.remove_attribute("aria-describedby"),
            };
            let _ = if error.is_some() {
                input.set_attribute("aria-invalid", "true")
            } else {
                input.remove_attribute("aria-invalid")
            };
        }
        focus(by_id(errors.first_field().unwrap_or_default()));
    }

    fn focus(element: Option<web_sys::Element>) {
        if let Some(element) = element.and_then(|e| e.dyn_into::<HtmlElement>().ok()) {
            let _ = element.focus();
        }
    }

    fn set_sending(form: &HtmlFormElement, sending: bool) {
        if let Some(button) = form.query_selector("button[type=submit]").ok().flatten() {
            button.set_text_content(Some(if sending {
                "Sending…"
            } else {
                "Send message"
            }));
            let _ = if sending {
                button.set_attribute("aria-disabled", "true")
            } else {
                button.remove_attribute("aria-disabled")
            };
        }
    }

    /// Replaces the form with the thanks and moves focus to its heading.
    fn thank(document: &Document, form: &HtmlFormElement) {
        if let Some(thanks) = document
            .query_selector("section.thanks")
            .ok()
            .flatten()
            .and_then(|t| t.dyn_into::<HtmlElement>().ok())
        {
            form.remove();
            thanks.set_hidden(false);
            focus(document.get_element_by_id("thanks-heading"));
        }
    }

    /// Posts the form as the browser would, asking for a JSON answer.
    async fn send(form: &HtmlFormElement) -> Result<(), FieldErrors> {
        match post(form).await {
            Ok(reply) => match js_sys::Reflect::get(&reply, &"ok".into()) {
                Ok(ok) if ok.as_bool() == Some(true) => Ok(()),
                _ => {
                    let errors = js_sys::Reflect::get(&reply, &"errors".into()).unwrap_or_default();
                    let text = |key: &str| {
                        js_sys::Reflect::get(&errors, &key.into())
                            .ok()
                            .and_then(|v| v.as_string())
                    };
                    let found = FieldErrors {
                        name: text("name"),
                        email: text("email"),
                        message: text("message"),
                        form: text("form"),
                    };
                    Err(if found.is_empty() {
                        FieldErrors::form(UNREACHABLE)
                    } else {
                        found
                    })
                }
            },
            Err(_) => Err(FieldErrors::form(UNREACHABLE)),
        }
    }

    async fn post(form: &HtmlFormElement) -> Result<JsValue, JsValue> {
        let window = web_sys::window().ok_or(JsValue::NULL)?;
        let fields: JsValue = FormData::new_with_form(form)?.into();
        let body = UrlSearchParams::new_with_str_sequence_sequence(&fields)?;
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&body);
        let headers = web_sys::Headers::new()?;
        headers.set("Accept", "application/json")?;
        init.set_headers(&headers);
        let response: Response =
            JsFuture::from(window.fetch_with_str_and_init(&form.action(), &init))
                .await?
                .dyn_into()?;
        JsFuture::from(response.json()?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(name: &str, email: &str, message: &str) -> ContactDraft {
        ContactDraft {
            name: name.into(),
            email: email.into(),
            message: message.into(),
        }
    }

    #[test]
    fn a_good_message_is_trimmed_and_normalised() {
        let clean = validate(&draft(
            "  Ada  ",
            " ada@example.com ",
            "  Hello there,\r\nhow are you?  ",
        ))
        .expect("valid");
        assert_eq!(clean.name, "Ada");
        assert_eq!(clean.email, "ada@example.com");
        assert_eq!(clean.message, "Hello there,\nhow are you?");
    }

    #[test]
    fn every_field_says_what_is_wrong() {
        let errors = validate(&draft(" ", "", "short")).expect_err("invalid");
        assert!(errors.name.is_some());
        assert!(errors.email.is_some());
        assert!(errors.message.as_deref().is_some_and(|m| m.contains("10")));
        assert_eq!(errors.form, None);
        assert_eq!(errors.field_count(), 3);
        assert_eq!(errors.first_field(), Some("contact-name"));
    }

    #[test]
    fn lengths_are_counted_in_characters_at_the_limits() {
        let at = |n: usize| "é".repeat(n);
        assert!(validate(&draft(&at(NAME_MAX), "a@b.co", &at(MESSAGE_MAX))).is_ok());
        let errors = validate(&draft(&at(NAME_MAX + 1), "a@b.co", &at(MESSAGE_MAX + 1)))
            .expect_err("too long");
        assert!(errors.name.is_some() && errors.message.is_some());
        assert!(errors.email.is_none());
        let long_email = format!("{}@{}.com", "a".repeat(64), "b".repeat(200));
        assert!(
            validate(&draft("A", &long_email, "long enough"))
                .expect_err("too long")
                .email
                .is_some()
        );
    }

    #[test]
    fn control_characters_are_refused() {
        let errors = validate(&draft("A\u{0}da", "a@b.co", "nul \u{0} inside")).expect_err("nul");
        assert!(errors.name.is_some() && errors.message.is_some());
        assert!(validate(&draft("Ada", "a@b.co", "tabs\tand\nnewlines ok")).is_ok());
    }

    #[test]
    fn plausible_addresses() {
        for good in [
            "a@b.co",
            "first.last+tag@example.co.uk",
            "o'neil@example.ie",
            "用户@例子.广告",
            "x@sub-domain.example",
        ] {
            assert!(plausible_email(good), "{good}");
        }
        for bad in [
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@b.c",
            "a b@example.com",
            "a@exa mple.com",
            "a@@example.com",
            "a@example..com",
            "a@-example.com",
            ".a@example.com",
            "a..b@example.com",
            "a@example.com.",
            "a@1.2.3.4",
            "<a>@example.com",
            "a@example.com\n",
        ] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }

    #[test]
    fn replies_round_trip_as_json() {
        let reply = ContactReply {
            ok: false,
            errors: FieldErrors::form("slow down"),
        };
        let text = leptos::serde_json::to_string(&reply).expect("json");
        assert_eq!(text, r#"{"ok":false,"errors":{"form":"slow down"}}"#);
        assert_eq!(
            leptos::serde_json::to_string(&ContactReply {
                ok: true,
                ..ContactReply::default()
            })
            .expect("json"),
            r#"{"ok":true}"#
        );
        assert_eq!(
            leptos::serde_json::from_str::<ContactReply>(&text).expect("parse"),
            reply
        );
    }
}
