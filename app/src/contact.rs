//! The contact form: its validation (shared by the server and the browser), the page, the
//! thank-you page, and the island that sends it without a reload.
//!
//! Without JavaScript the form posts to `/contact` (handled in the server crate), which answers
//! with a redirect to `/contact/thanks`, or with this page again showing the visitor's input and
//! a message beside each field that needs fixing. With JavaScript, [`ContactForm`] checks the
//! fields at once with the same [`validate`], posts the same form asking for JSON, and shows the
//! server's answer in place. Either way the server validates again and commits the message
//! before anyone is told it was sent.

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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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

    /// The id of the first field with an error, in the order the fields appear.
    pub fn first_field(&self) -> Option<&'static str> {
        [
            (&self.name, "contact-name"),
            (&self.email, "contact-email"),
            (&self.message, "contact-message"),
        ]
        .into_iter()
        .find_map(|(error, id)| error.is_some().then_some(id))
    }

    /// How many fields need fixing.
    pub fn field_count(&self) -> usize {
        [&self.name, &self.email, &self.message]
            .into_iter()
            .filter(|e| e.is_some())
            .count()
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

/// `/contact`: a short note and the form.
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
        <ThankYou heading_level=1/>
    }
}

/// The confirmation shown once the message is stored.
#[component]
fn ThankYou(heading_level: u8) -> impl IntoView {
    let heading = "Thank you, your message is on its way";
    view! {
        <section class="contact thanks" data-testid="contact-thanks" aria-labelledby="thanks-heading">
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Editing,
    Sending,
    Sent,
}

/// The form. Rendered by the server with the visitor's input and errors (after a refused post
/// without JavaScript); once hydrated it checks and sends without leaving the page.
#[island]
pub fn ContactForm(draft: ContactDraft, errors: FieldErrors) -> impl IntoView {
    let errors = RwSignal::new(errors);
    let phase = RwSignal::new(Phase::Editing);
    let form = NodeRef::<leptos::html::Form>::new();

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if phase.get_untracked() == Phase::Sending {
            return;
        }
        let Some(form) = form.get_untracked() else {
            return;
        };
        if let Err(found) = validate(&client::draft(&form)) {
            client::focus(found.first_field());
            errors.set(found);
            return;
        }
        errors.set(FieldErrors::default());
        phase.set(Phase::Sending);
        leptos::task::spawn_local(async move {
            match client::send(&form).await {
                Ok(()) => {
                    phase.set(Phase::Sent);
                    request_animation_frame(|| client::focus(Some("thanks-heading")));
                }
                Err(found) => {
                    client::focus(found.first_field());
                    errors.set(found);
                    phase.set(Phase::Editing);
                }
            }
        });
    };

    let error_of =
        move |pick: fn(&FieldErrors) -> &Option<String>| move || errors.with(|e| pick(e).clone());
    let summary = move || {
        errors.with(|e| {
            e.form.clone().or_else(|| match e.field_count() {
                0 => None,
                1 => Some("Please fix the field marked below.".to_owned()),
                n => Some(format!("Please fix the {n} fields marked below.")),
            })
        })
    };

    view! {
        <Show when=move || phase.get() != Phase::Sent fallback=|| view! { <ThankYou heading_level=2/> }>
            <form
                class="contact-form"
                method="post"
                action="/contact"
                novalidate
                node_ref=form
                on:submit=on_submit
                data-testid="contact-form"
            >
                <div class="form-summary" role="alert" data-testid="contact-summary">
                    {summary}
                </div>
                <Field
                    id="contact-name"
                    name="name"
                    label="Your name"
                    value=draft.name.clone()
                    max=NAME_MAX
                    autocomplete="name"
                    error=Signal::derive(error_of(|e| &e.name))
                />
                <Field
                    id="contact-email"
                    name="email"
                    label="Email address"
                    kind="email"
                    value=draft.email.clone()
                    max=EMAIL_MAX
                    autocomplete="email"
                    error=Signal::derive(error_of(|e| &e.email))
                />
                <Field
                    id="contact-message"
                    name="message"
                    label="Message"
                    multiline=true
                    value=draft.message.clone()
                    max=MESSAGE_MAX
                    hint=format!("At least {MESSAGE_MIN} characters.")
                    error=Signal::derive(error_of(|e| &e.message))
                />
                // Hidden from people and assistive technology, and out of the tab order.
                <div class="honeypot" aria-hidden="true">
                    <label for="contact-website">"Leave this empty"</label>
                    <input id="contact-website" name=HONEYPOT type="text" tabindex="-1" autocomplete="off"/>
                </div>
                <button type="submit" class="button" aria-disabled=move || (phase.get() == Phase::Sending).then_some("true")>
                    {move || if phase.get() == Phase::Sending { "Sending…" } else { "Send message" }}
                </button>
            </form>
        </Show>
    }
    .into_any()
}

/// One labelled input or textarea with its hint and error, tied together for screen readers.
#[component]
fn Field(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    value: String,
    max: usize,
    error: Signal<Option<String>>,
    #[prop(optional)] kind: Option<&'static str>,
    #[prop(optional)] multiline: bool,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] hint: Option<String>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = hint.as_ref().map(|_| format!("{id}-hint"));
    let described_by = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        move || {
            let ids: Vec<&str> = [
                hint_id.as_deref(),
                error.with(Option::is_some).then_some(error_id.as_str()),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    let invalid = move || error.with(Option::is_some).then_some("true");
    let control = if multiline {
        // Leptos writes a textarea's text unescaped (it treats it like <script>), so a draft
        // holding `</textarea>` would end the element early. Escape it for the server's HTML;
        // in the browser the text is a DOM node and needs nothing.
        #[cfg(feature = "ssr")]
        let value = value
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        view! {
            <textarea
                id=id
                name=name
                rows="7"
                maxlength=max
                required
                aria-invalid=invalid
                aria-describedby=described_by
            >{value}</textarea>
        }
        .into_any()
    } else {
        view! {
            <input
                id=id
                name=name
                type=kind.unwrap_or("text")
                value=value
                maxlength=max
                autocomplete=autocomplete
                required
                aria-invalid=invalid
                aria-describedby=described_by
            />
        }
        .into_any()
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {hint.map(|text| view! { <p class="hint" id=hint_id.clone()>{text}</p> })}
            {control}
            <p class="field-error" id=error_id data-testid=format!("{name}-error")>{move || error.get()}</p>
        </div>
    }
    .into_any()
}

/// Browser-side helpers; the server never runs them.
mod client {
    use super::{ContactDraft, ContactReply, FieldErrors};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{FormData, HtmlElement, HtmlFormElement, RequestInit, Response, UrlSearchParams};

    const UNREACHABLE: &str = "The message could not be sent: the server did not answer. It is still here; please try again.";

    /// The form's current fields.
    pub fn draft(form: &HtmlFormElement) -> ContactDraft {
        let field = |name: &str| {
            form.elements()
                .named_item(name)
                .and_then(|element| {
                    element
                        .dyn_ref::<web_sys::HtmlInputElement>()
                        .map(|input| input.value())
                        .or_else(|| {
                            element
                                .dyn_ref::<web_sys::HtmlTextAreaElement>()
                                .map(|area| area.value())
                        })
                })
                .unwrap_or_default()
        };
        ContactDraft {
            name: field("name"),
            email: field("email"),
            message: field("message"),
        }
    }

    /// Moves keyboard focus to the element with `id`, if there is one.
    pub fn focus(id: Option<&str>) {
        let element = id.and_then(|id| {
            web_sys::window()?
                .document()?
                .get_element_by_id(id)?
                .dyn_into::<HtmlElement>()
                .ok()
        });
        if let Some(element) = element {
            let _ = element.focus();
        }
    }

    /// Posts the form as the browser would, asking for a JSON answer.
    pub async fn send(form: &HtmlFormElement) -> Result<(), FieldErrors> {
        match post(form).await {
            Ok(reply) if reply.ok => Ok(()),
            Ok(reply) if !reply.errors.is_empty() => Err(reply.errors),
            _ => Err(FieldErrors::form(UNREACHABLE)),
        }
    }

    async fn post(form: &HtmlFormElement) -> Result<ContactReply, JsValue> {
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
        let text = JsFuture::from(response.text()?).await?;
        let text = text.as_string().unwrap_or_default();
        leptos::serde_json::from_str(&text).map_err(|_| JsValue::NULL)
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
