// The owner's pages, enhanced. In the editor: an unsaved edit is kept in this browser
// (localStorage) as it is typed, and offered back after a reload or a crashed tab until it is
// saved or discarded; Markdown is previewed live as it is typed (rendered by the server, as
// visitors get it); the timeline gets "Add another entry"; Ctrl+S (Cmd+S) saves and Escape
// leaves. On the content list, projects are put in order by dragging. In the media library, a
// picture can be dropped on the form and its upload shows its progress. Loaded only on the
// owner's pages, so visitors never download it; every page works the same without it.
const PREFIX = 'folio-draft:';

// A save the server confirmed: the draft it came from is no longer needed.
for (const done of document.querySelectorAll('[data-draft-saved]')) {
  localStorage.removeItem(PREFIX + done.dataset.draftSaved);
}

const form = document.querySelector('form[data-draft-key]');
if (form) {
  const key = PREFIX + form.dataset.draftKey;
  const base = form.elements.version.value;
  const fields = () =>
    [...form.elements].filter(
      (f) => f.name && !['version', 'intent', 'back'].includes(f.name) && f.type !== 'submit' && f.type !== 'file',
    );
  const read = () => Object.fromEntries(fields().map((f) => [f.name, f.type === 'checkbox' ? f.checked : f.value]));

  // The timeline: one more blank entry, as many times as wanted.
  const entries = form.querySelector('[data-entries]');
  const addEntry = () => {
    const last = entries.lastElementChild;
    const index = entries.children.length;
    const copy = last.cloneNode(true);
    for (const el of copy.querySelectorAll('[name], [id], [for]')) {
      for (const attr of ['name', 'id', 'for']) {
        const value = el.getAttribute(attr);
        if (value) el.setAttribute(attr, value.replace(/experience-\d+-/, `experience-${index}-`));
      }
      if ('value' in el && el.type !== 'checkbox') el.value = '';
      if (el.type === 'checkbox') el.checked = false;
    }
    copy.querySelector('legend').textContent = 'Add an entry';
    copy.querySelector('.check')?.remove();
    entries.append(copy);
    return copy;
  };
  if (entries) {
    const more = document.createElement('button');
    more.type = 'button';
    more.className = 'button secondary';
    more.textContent = 'Add another entry';
    more.addEventListener('click', () => addEntry().querySelector('input')?.focus());
    entries.after(more);
  }

  const write = (values) => {
    // A draft may hold more timeline entries than the page shows: make room first.
    const wanted = Math.max(-1, ...Object.keys(values).map((n) => Number(/^experience-(\d+)-/.exec(n)?.[1] ?? -1)));
    while (entries && entries.children.length <= wanted) addEntry();
    for (const f of fields()) {
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

  // Saving: said while the server answers, and a second press does not send it twice.
  const saving = form.querySelector('[data-testid="save-state"]');
  let sending = false;
  form.addEventListener('submit', (event) => {
    if (sending) {
      event.preventDefault();
      return;
    }
    sending = true;
    if (saving) saving.textContent = event.submitter?.value === 'preview' ? 'Rendering the preview…' : 'Saving…';
  });
  addEventListener('pageshow', (event) => {
    if (!event.persisted) return;
    sending = false;
    if (saving) saving.textContent = '';
  });

  // Live preview: each Markdown field rendered by the server as it is typed (the newest text
  // wins: an answer to older text arriving late is dropped).
  for (const area of form.querySelectorAll('textarea[data-markdown]')) {
    const panel = document.createElement('section');
    panel.className = 'live-preview';
    panel.dataset.testid = 'live-preview';
    panel.setAttribute('aria-label', 'Live preview');
    panel.tabIndex = 0; // it scrolls, so the keyboard must reach it
    const head = document.createElement('p');
    head.className = 'live-preview-head';
    const state = document.createElement('span');
    head.append('Live preview ', state);
    const body = document.createElement('div');
    body.className = 'prose';
    panel.append(head, body);
    area.after(panel);
    area.closest('.field')?.classList.add('with-preview');
    let wait = 0;
    let latest = 0;
    const render = async () => {
      const mine = ++latest;
      state.textContent = '(updating…)';
      try {
        const answer = await fetch(form.dataset.preview, {
          method: 'POST',
          body: new URLSearchParams({ text: area.value }),
        });
        const text = await answer.text();
        if (mine !== latest) return;
        if (answer.ok) {
          body.innerHTML = text; // sanitized by the server, as every visitor's page is
          state.textContent = '';
        } else {
          state.textContent = `(not updated: ${text.trim()})`;
        }
      } catch {
        if (mine === latest) state.textContent = '(not updated: the server could not be reached)';
      }
    };
    area.addEventListener('input', () => {
      clearTimeout(wait);
      wait = setTimeout(render, 250);
    });
    render();
  }

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

// The content list: drag a project onto another's place. The arrows stay for the keyboard.
const list = document.querySelector('[data-reorder]');
if (list) {
  const status = document.querySelector('[data-testid="order-status"]');
  const rows = () => [...list.querySelectorAll('li[data-move]')];
  let dragged = null;
  for (const row of rows()) {
    row.draggable = true;
    row.addEventListener('dragstart', (event) => {
      dragged = row;
      row.classList.add('dragging');
      event.dataTransfer.effectAllowed = 'move';
      event.dataTransfer.setData('text/plain', row.dataset.title);
    });
    row.addEventListener('dragend', () => {
      row.classList.remove('dragging');
      for (const r of rows()) r.classList.remove('drop-target');
    });
    row.addEventListener('dragover', (event) => {
      if (!dragged || dragged === row) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'move';
      row.classList.add('drop-target');
    });
    row.addEventListener('dragleave', () => row.classList.remove('drop-target'));
    row.addEventListener('drop', async (event) => {
      event.preventDefault();
      row.classList.remove('drop-target');
      const moving = dragged;
      dragged = null;
      if (!moving || moving === row) return;
      const position = rows().indexOf(row);
      const from = rows().indexOf(moving);
      row[from < position ? 'after' : 'before'](moving);
      status.textContent = `Moving \u201c${moving.dataset.title}\u201d…`;
      try {
        // Asking for JSON, as every script of the site does, gets 204 instead of the list again.
        const answer = await fetch(moving.dataset.move, {
          method: 'POST',
          headers: { Accept: 'application/json' },
          body: new URLSearchParams({ position: String(position) }),
        });
        if (!answer.ok) throw new Error(await answer.text());
        status.textContent = `Moved \u201c${moving.dataset.title}\u201d to place ${position + 1}.`;
        const all = rows();
        all.forEach((r, i) => {
          r.querySelector('button[value="up"]').disabled = i === 0;
          r.querySelector('button[value="down"]').disabled = i === all.length - 1;
        });
      } catch {
        // Not saved: show the order as it is stored.
        location.reload();
      }
    });
  }
}

// The media library's upload: a picture dropped anywhere on the form goes into its file field,
// and sending it shows its progress. The server's answer is shown as it would be without this.
const upload = document.querySelector('form[data-upload]');
if (upload) {
  const input = upload.querySelector('input[type="file"]');
  const zone = upload.querySelector('[data-drop-zone]');
  const chosen = document.createElement('p');
  chosen.className = 'hint';
  chosen.dataset.testid = 'upload-chosen';
  chosen.textContent = 'Or drop a picture here.';
  input.after(chosen);
  const show = () => {
    const file = input.files[0];
    chosen.textContent = file ? `${file.name}, ${(file.size / 1024 / 1024).toFixed(1)} MB` : 'Or drop a picture here.';
  };
  input.addEventListener('change', show);
  for (const type of ['dragenter', 'dragover']) {
    upload.addEventListener(type, (event) => {
      if (![...(event.dataTransfer?.types ?? [])].includes('Files')) return;
      event.preventDefault();
      zone.classList.add('dropping');
    });
  }
  upload.addEventListener('dragleave', (event) => {
    if (!upload.contains(event.relatedTarget)) zone.classList.remove('dropping');
  });
  upload.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dropping');
    if (!event.dataTransfer?.files.length) return;
    input.files = event.dataTransfer.files;
    show();
    upload.querySelector('input[name="alt"]')?.focus();
  });

  const bar = document.createElement('progress');
  bar.max = 100;
  bar.value = 0;
  bar.hidden = true;
  bar.dataset.testid = 'upload-progress';
  bar.setAttribute('aria-label', 'Upload progress');
  const said = document.createElement('p');
  said.setAttribute('role', 'status');
  said.dataset.testid = 'upload-status';
  upload.querySelector('button[type="submit"]').before(bar, said);

  upload.addEventListener('submit', (event) => {
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open('POST', upload.action);
    request.upload.addEventListener('progress', (progress) => {
      if (!progress.lengthComputable) return;
      bar.value = Math.round((progress.loaded / progress.total) * 100);
      said.textContent = `Uploading… ${bar.value}%`;
    });
    request.addEventListener('load', () => {
      if (request.status < 300) {
        bar.value = 100;
        said.textContent = 'Uploaded.';
        location.assign(request.responseURL);
        return;
      }
      bar.hidden = true;
      said.textContent = '';
      // The refusal is the page again with its messages: take them over, keep what was typed.
      const answer = new DOMParser().parseFromString(request.responseText, 'text/html');
      const theirs = answer.querySelector('form[data-upload]');
      if (!theirs) {
        said.textContent = `Not uploaded: ${request.responseText.trim().slice(0, 300)}`;
        return;
      }
      for (const el of theirs.querySelectorAll('.field-error[id], [data-testid="form-summary"]')) {
        const here = el.id ? upload.querySelector(`#${el.id}`) : upload.querySelector('[data-testid="form-summary"]');
        if (here) here.textContent = el.textContent;
      }
      for (const el of theirs.querySelectorAll('input[id]')) {
        const here = upload.querySelector(`#${el.id}`);
        if (!here) continue;
        if (el.getAttribute('aria-invalid') === 'true') here.setAttribute('aria-invalid', 'true');
        else here.removeAttribute('aria-invalid');
      }
      upload.querySelector('[aria-invalid="true"]')?.focus();
    });
    request.addEventListener('error', () => {
      bar.hidden = true;
      said.textContent = 'Not uploaded: the server could not be reached. Try again.';
    });
    bar.hidden = false;
    bar.value = 0;
    said.textContent = 'Uploading…';
    request.send(new FormData(upload));
  });
}
