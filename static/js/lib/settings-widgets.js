// Input widgets for a function's settings, as an instance's configuration page shows them:
// one field per setting of the schema, by type (string: text input; encrypted string:
// masked password input; boolean: checkbox; array: a list of strings; map: key/value
// rows), with label, description, required marker and inline validation messages.
//
//   const form = renderSettingsForm(container, schema, values, { masked, disabled, onChange });
//   if (form.validate()) save(form.getValues());
//
// `values` maps setting names to values. Encrypted values from the server are masked
// ("••••WXYZ"): they are never put into an input; an empty input keeps the stored value
// (its name is left out of getValues()), "Clear" sends null. With `masked: false` the
// values given for encrypted settings are real and prefilled. A masked value of a string
// setting the schema no longer calls encrypted (it was entered while it was) is treated the
// same way: write-only, kept until a new value is entered. getValues() leaves out
// empty strings, empty lists and empty maps; booleans are always true or false.
// validate() shows a message next to each invalid field and returns true when all are valid.

import { el } from './dom.js';

let counter = 0;

// How the server shows a write-only value (audit.redaction.MASK, then its last characters).
const MASK = '••••';

function isMaskedValue(value) {
  return typeof value === 'string' && value.startsWith(MASK);
}

function hasValue(value) {
  return value !== undefined && value !== null && value !== '';
}

function labelContent(setting) {
  const text = (setting.label || '').trim() || setting.name || 'Untitled setting';
  const parts = [el('span', { class: 'setting-label-text', text })];
  if (setting.required) {
    parts.push(el('span', { class: 'required-mark', 'aria-hidden': 'true', text: '*' }));
    parts.push(el('span', { class: 'sr-only', text: ' (required)' }));
  }
  return parts;
}

function removeButton(label, onClick, disabled) {
  const button = el('button', {
    type: 'button',
    class: 'btn btn-ghost btn-sm row-remove',
    'aria-label': label,
    title: label,
    disabled,
    text: '×',
  });
  button.addEventListener('click', onClick);
  return button;
}

function listEditor({ id, rows, makeRow, addLabel, disabled, onChange, describedBy }) {
  const list = el('ul', { class: 'list-editor', id: `${id}-rows` });
  const add = el('button', {
    type: 'button',
    class: 'btn btn-sm list-add',
    disabled,
    text: addLabel,
  });
  function addRow(initial, focus) {
    const inputs = makeRow(initial, list.children.length);
    for (const input of inputs) input.setAttribute('aria-describedby', describedBy);
    const item = el('li', { class: 'list-row' }, ...inputs);
    item.append(
      removeButton(
        'Remove this row',
        () => {
          item.remove();
          onChange();
          add.focus();
        },
        disabled,
      ),
    );
    list.append(item);
    if (focus) inputs[0].focus();
  }
  for (const row of rows) addRow(row, false);
  add.addEventListener('click', () => {
    addRow(undefined, true);
    onChange();
  });
  return { element: el('div', { class: 'list-editor-wrap' }, list, add), list };
}

/**
 * One setting's field. Returns { element, getValue(), validate(), setError(text) };
 * getValue() is undefined when the setting is left out.
 */
function createField(setting, value, { id, masked, disabled, onChange = () => {} }) {
  const type = setting.type || 'string';
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const describedBy = setting.description ? `${helpId} ${errorId}` : errorId;
  const help = setting.description
    ? el('div', { class: 'help', id: helpId, text: setting.description })
    : null;
  const error = el('div', { class: 'field-error', id: errorId });
  let touched = false;
  let getValue;
  let check;
  let body;
  const changed = () => {
    if (touched) field.validate();
    onChange();
  };

  if (type === 'boolean') {
    const box = el('input', {
      type: 'checkbox',
      id,
      name: setting.name,
      checked: value === true,
      disabled,
      'aria-describedby': describedBy,
    });
    box.addEventListener('change', changed);
    body = [
      el('label', { class: 'check setting-label', for: id }, box, ...labelContent(setting)),
      help,
    ];
    getValue = () => box.checked;
    check = () => '';
  } else if (type === 'array') {
    const items = Array.isArray(value) ? value.map(String) : [];
    const editor = listEditor({
      id,
      rows: items.length ? items : [''],
      addLabel: 'Add item',
      disabled,
      describedBy,
      onChange: changed,
      makeRow: (initial, index) => {
        const input = el('input', {
          type: 'text',
          value: initial ?? '',
          disabled,
          'aria-label': `${setting.label || setting.name} item ${index + 1}`,
        });
        input.addEventListener('input', changed);
        return [input];
      },
    });
    const legend = el('legend', { class: 'setting-label' }, ...labelContent(setting));
    body = [
      el(
        'fieldset',
        { class: 'setting-group', 'aria-describedby': describedBy },
        legend,
        help,
        editor.element,
      ),
    ];
    getValue = () => {
      const list = [...editor.list.querySelectorAll('input')]
        .map((input) => input.value)
        .filter((v) => v !== '');
      return list.length ? list : undefined;
    };
    check = () => (setting.required && !getValue() ? 'Add at least one item.' : '');
  } else if (type === 'map') {
    const entries =
      value && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [];
    const editor = listEditor({
      id,
      rows: entries.length ? entries : [['', '']],
      addLabel: 'Add entry',
      disabled,
      describedBy,
      onChange: changed,
      makeRow: (initial, index) => {
        const [key, val] = initial || ['', ''];
        const keyInput = el('input', {
          type: 'text',
          class: 'map-key',
          value: key,
          disabled,
          placeholder: 'Key',
          'aria-label': `${setting.label || setting.name} key ${index + 1}`,
        });
        const valueInput = el('input', {
          type: 'text',
          class: 'map-value',
          value: String(val ?? ''),
          disabled,
          placeholder: 'Value',
          'aria-label': `${setting.label || setting.name} value ${index + 1}`,
        });
        keyInput.addEventListener('input', changed);
        valueInput.addEventListener('input', changed);
        return [keyInput, valueInput];
      },
    });
    const rows = () =>
      [...editor.list.children].map((row) => [
        row.querySelector('.map-key').value,
        row.querySelector('.map-value').value,
      ]);
    const legend = el('legend', { class: 'setting-label' }, ...labelContent(setting));
    body = [
      el(
        'fieldset',
        { class: 'setting-group', 'aria-describedby': describedBy },
        legend,
        help,
        editor.element,
      ),
    ];
    getValue = () => {
      const map = {};
      for (const [key, val] of rows()) if (key !== '') map[key] = val;
      return Object.keys(map).length ? map : undefined;
    };
    check = () => {
      const seen = new Set();
      for (const [key, val] of rows()) {
        if (key === '' && val !== '') return 'Every value needs a key.';
        if (key !== '' && seen.has(key)) return `The key “${key}” appears twice.`;
        seen.add(key);
      }
      return setting.required && !getValue() ? 'Add at least one entry.' : '';
    };
  } else if (setting.encrypted || (masked && isMaskedValue(value))) {
    const stored = hasValue(value);
    const input = el('input', {
      type: 'password',
      id,
      name: setting.name,
      disabled,
      autocomplete: 'new-password',
      spellcheck: 'false',
      value: stored && !masked ? String(value) : '',
      placeholder: stored ? 'Leave empty to keep the current value' : '',
      'aria-describedby': `${describedBy} ${id}-stored`,
    });
    let cleared = false;
    const storedNote = el('div', { class: 'help setting-stored', id: `${id}-stored` });
    if (stored && masked) {
      const clear = el('button', {
        type: 'button',
        class: 'btn btn-ghost btn-sm',
        disabled,
        text: 'Clear',
      });
      const text = el('span', { text: `Current value: ${value}. Leave empty to keep it.` });
      clear.addEventListener('click', () => {
        cleared = !cleared;
        text.textContent = cleared
          ? 'The value will be cleared.'
          : `Current value: ${value}. Leave empty to keep it.`;
        clear.textContent = cleared ? 'Keep' : 'Clear';
        input.disabled = cleared || disabled;
        changed();
      });
      storedNote.append(text, ' ', clear);
      if (!setting.encrypted) {
        storedNote.append(
          el('div', {
            class: 'setting-write-only',
            text: 'Entered while this setting was encrypted: it stays write-only and masked until you enter a new value.',
          }),
        );
      }
    } else {
      storedNote.textContent = 'Encrypted: write-only, shown masked once saved.';
    }
    input.addEventListener('input', changed);
    input.addEventListener('blur', () => {
      touched = true;
      field.validate();
    });
    const label = el('label', { class: 'setting-label', for: id }, ...labelContent(setting));
    body = [label, help, el('div', { class: 'secret-input' }, input), storedNote];
    getValue = () => {
      if (cleared) return null;
      if (input.value !== '') return input.value;
      return undefined;
    };
    check = () => {
      const keeps = stored && masked && !cleared;
      return setting.required && input.value === '' && !keeps ? 'This setting is required.' : '';
    };
  } else {
    const input = el('input', {
      type: 'text',
      id,
      name: setting.name,
      disabled,
      autocomplete: 'off',
      value: hasValue(value) ? String(value) : '',
      'aria-describedby': describedBy,
    });
    input.addEventListener('input', changed);
    input.addEventListener('blur', () => {
      touched = true;
      field.validate();
    });
    const label = el('label', { class: 'setting-label', for: id }, ...labelContent(setting));
    body = [label, help, input];
    getValue = () => (input.value === '' ? undefined : input.value);
    check = () => (setting.required && input.value === '' ? 'This setting is required.' : '');
  }

  const element = el(
    'div',
    { class: `setting-field setting-${type}`, 'data-setting': setting.name || '' },
    ...body,
    error,
  );
  const field = {
    element,
    getValue,
    setError(text) {
      error.textContent = text || '';
      element.classList.toggle('invalid', Boolean(text));
      element.querySelectorAll('input').forEach((input) => {
        if (text) input.setAttribute('aria-invalid', 'true');
        else input.removeAttribute('aria-invalid');
      });
    },
    validate() {
      touched = true;
      const message = check();
      field.setError(message);
      return !message;
    },
  };
  return field;
}

function isMasked(masked, name) {
  if (Array.isArray(masked)) return masked.includes(name);
  if (masked instanceof Set) return masked.has(name);
  return masked !== false;
}

/** Render a form for `schema` into `container` (replacing its content). */
export function renderSettingsForm(
  container,
  schema,
  values = {},
  { masked = true, disabled = false, onChange } = {},
) {
  const prefix = `sw${++counter}`;
  container.replaceChildren();
  const fields = (schema || []).map((setting, index) => ({
    name: setting.name,
    field: createField(setting, values?.[setting.name], {
      id: `${prefix}-${index}`,
      // Encrypted by the schema, or a value that was entered while it was (shown masked).
      masked:
        isMasked(masked, setting.name) &&
        (setting.encrypted || isMaskedValue(values?.[setting.name])),
      disabled,
      onChange,
    }),
  }));
  if (!fields.length) {
    container.append(
      el('p', { class: 'muted small settings-none', text: 'This function declares no settings.' }),
    );
  }
  container.append(...fields.map(({ field }) => field.element));
  return {
    getValues() {
      const values_ = {};
      for (const { name, field } of fields) {
        const value = field.getValue();
        if (value !== undefined) values_[name] = value;
      }
      return values_;
    },
    validate() {
      let ok = true;
      for (const { field } of fields) ok = field.validate() && ok;
      const first = container.querySelector('.setting-field.invalid input');
      if (first) first.focus();
      return ok;
    },
    /** Show server-side messages ({name: message}) next to their fields. */
    setErrors(errors = {}) {
      for (const { name, field } of fields) field.setError(errors[name] || '');
    },
  };
}

/**
 * The builder's live preview: one setting exactly as an instance's configuration page
 * will show it (its widget validates as you use it). Returns { validate() }.
 */
export function renderSettingPreview(container, setting) {
  const field = createField(setting, undefined, { id: `preview-${++counter}`, masked: true });
  container.replaceChildren(field.element);
  return { validate: () => field.validate() };
}
