// The owner's editor, enhanced: an unsaved edit is kept in this browser (localStorage) as it is
// typed, and offered back after a reload or a crashed tab until it is saved or discarded;
// Ctrl+S (Cmd+S) saves and Escape leaves. Loaded only on the owner's editor pages, so visitors
// never download it; the editor works the same without it.
const PREFIX = 'folio-draft:';

// A save the server confirmed: the draft it came from is no longer needed.
for (const done of document.querySelectorAll('[data-draft-saved]')) {
  localStorage.removeItem(PREFIX + done.dataset.draftSaved);
}

const form = document.querySelector('form[data-draft-key]');
if (form) {
  const key = PREFIX + form.dataset.draftKey;
  const base = form.elements.version.value;
  const fields = [...form.elements].filter(
    (f) => f.name && !['version', 'intent', 'back'].includes(f.name) && f.type !== 'submit' && f.type !== 'file',
  );
  const read = () => Object.fromEntries(fields.map((f) => [f.name, f.type === 'checkbox' ? f.checked : f.value]));
  const write = (values) => {
    for (const f of fields) {
      if (!(f.name in values)) continue;
      if (f.type === 'checkbox') f.checked = values[f.name];
      else f.value = values[f.name];
    }
  };
  const saved = JSON.stringify(read());

  const notice = (text, actions) => {
    const box = document.createElement('div');
    box.className = 'draft-notice';
    box.setAttribute('role', 'status');
    box.dataset.testid = 'draft-notice';
    const p = document.createElement('p');
    p.textContent = text;
    box.append(p);
    for (const [label, act] of actions) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'button secondary';
      button.textContent = label;
      button.addEventListener('click', () => {
        act();
        box.remove();
      });
      box.append(button);
    }
    form.before(box);
  };

  // A draft from before the reload (not what the server showed just now).
  let draft = null;
  try {
    draft = JSON.parse(localStorage.getItem(key) ?? 'null');
  } catch {
    localStorage.removeItem(key);
  }
  const refused = document.querySelector('[data-testid="editor-summary"]')?.textContent.trim();
  if (draft && JSON.stringify(draft.values) !== saved && !refused) {
    const when = new Date(draft.at).toLocaleString();
    const discard = () => {
      localStorage.removeItem(key);
      write(JSON.parse(saved));
    };
    if (draft.base === base) {
      write(draft.values);
      notice(`Your unsaved changes from ${when} are back. Save to keep them.`, [['Discard them', discard]]);
    } else {
      // Saved elsewhere since: offering, not applying, keeps the newer version in view; saving
      // the draft then shows both versions side by side.
      notice(`You have unsaved changes from ${when}, made to version ${draft.base} (this is version ${base}).`, [
        ['Restore them', () => write(draft.values)],
        ['Discard them', discard],
      ]);
    }
  }

  let timer = 0;
  const keep = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const values = read();
      if (JSON.stringify(values) === saved) localStorage.removeItem(key);
      else localStorage.setItem(key, JSON.stringify({ base, at: Date.now(), values }));
    }, 300);
  };
  form.addEventListener('input', keep);
  form.addEventListener('change', keep);
  // Typing then leaving at once still keeps the last keystrokes.
  addEventListener('pagehide', () => {
    if (timer) {
      clearTimeout(timer);
      const values = read();
      if (JSON.stringify(values) !== saved) localStorage.setItem(key, JSON.stringify({ base, at: Date.now(), values }));
    }
  });

  addEventListener('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
      event.preventDefault();
      form.querySelector('button[value="save"]')?.click();
    } else if (event.key === 'Escape' && !event.defaultPrevented) {
      const cancel = form.querySelector('[data-cancel]');
      if (cancel) location.assign(cancel.href);
    }
  });
}
