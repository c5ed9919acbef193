// The Settings tab: the draft's settings with edit and delete, and the Add/Edit Setting
// dialog with a live preview (renderSettingPreview) updated on every keystroke. Changes go
// into the draft (ctx.draft.setSchema) and are saved with the code, as one new version.
import { openDialog } from '../lib/dialog.js';
import { el } from '../lib/dom.js';

export const NAME_PATTERN = /^[a-zA-Z][a-zA-Z0-9]{0,63}$/;
export const MAX_SETTINGS = 50;
const MAX_LABEL = 100;
const MAX_DESCRIPTION = 1000;
const TYPE_LABELS = {
  string: 'String',
  boolean: 'Boolean',
  array: 'Array of strings',
  map: 'Text map',
};

/**
 * The camelCase name for a label, exactly as catalog.settings_schema.setting_name_from_label:
 * anything before the first letter is dropped, words are runs of ASCII letters and digits.
 */
export function settingNameFromLabel(label) {
  const words = String(label)
    .replace(/^[^A-Za-z]+/, '')
    .match(/[A-Za-z0-9]+/g);
  if (!words) return '';
  const [first, ...rest] = words;
  const tail = rest.map((word) => word[0].toUpperCase() + word.slice(1).toLowerCase()).join('');
  return (first.toLowerCase() + tail).slice(0, 64);
}

export function initSettingsBuilder(ctx) {
  const { draft, config } = ctx;
  const canEdit = Boolean(config.can_edit);
  const list = document.getElementById('setting-list');
  const empty = document.getElementById('setting-empty');
  const addButton = document.getElementById('add-setting-button');
  const dialog = document.getElementById('setting-dialog');

  function renderList() {
    const schema = draft.getSchema();
    list.replaceChildren(...schema.map((setting, index) => settingItem(setting, index)));
    empty.hidden = schema.length > 0;
    if (addButton) {
      const full = schema.length >= MAX_SETTINGS;
      addButton.disabled = full;
      addButton.title = full ? `A function has at most ${MAX_SETTINGS} settings.` : '';
    }
  }

  function settingItem(setting, index) {
    const badges = el(
      'div',
      { class: 'setting-badges' },
      el('span', { class: 'badge', text: TYPE_LABELS[setting.type] || setting.type }),
      setting.required ? el('span', { class: 'badge badge-required', text: 'Required' }) : null,
      setting.encrypted ? el('span', { class: 'badge badge-encrypted', text: 'Encrypted' }) : null,
    );
    const head = el(
      'div',
      { class: 'setting-item-head' },
      el('strong', { class: 'setting-item-label', text: setting.label }),
      el('code', { class: 'setting-item-name', text: setting.name }),
    );
    const body = el(
      'div',
      { class: 'setting-item-body' },
      head,
      badges,
      setting.description
        ? el('p', { class: 'muted small setting-item-description', text: setting.description })
        : null,
    );
    const item = el('li', { class: 'setting-item', 'data-setting': setting.name }, body);
    if (canEdit) {
      const edit = el('button', {
        type: 'button',
        class: 'btn btn-sm',
        'aria-label': `Edit ${setting.label}`,
        text: 'Edit',
      });
      const remove = el('button', {
        type: 'button',
        class: 'btn btn-sm btn-danger',
        'aria-label': `Delete ${setting.label}`,
        text: 'Delete',
      });
      edit.addEventListener('click', () => openEditor(index));
      remove.addEventListener('click', () => removeSetting(index));
      item.append(el('div', { class: 'setting-item-actions' }, edit, remove));
    }
    return item;
  }

  function removeSetting(index) {
    const schema = draft.getSchema();
    const setting = schema[index];
    if (!setting) return;
    const question = `Delete the setting “${setting.label}”? Code reading settings.${setting.name} will get undefined. Nothing is saved until you save.`;
    if (!window.confirm(question)) return;
    schema.splice(index, 1);
    draft.setSchema(schema);
    ctx.notify(`Deleted the setting ${setting.label} from the draft.`, 'info');
    (addButton || list).focus();
  }

  renderList();
  draft.onChange(({ kind }) => {
    if (kind !== 'code') renderList();
  });
  if (!canEdit || !dialog) return { settingNameFromLabel };

  // ------------------------------------------------------------ the dialog
  const form = document.getElementById('setting-form');
  const title = document.getElementById('setting-dialog-title');
  const saveButton = document.getElementById('setting-save-button');
  const inputs = {
    label: document.getElementById('setting-label'),
    name: document.getElementById('setting-name'),
    type: document.getElementById('setting-type'),
    description: document.getElementById('setting-description'),
    required: document.getElementById('setting-required'),
    encrypted: document.getElementById('setting-encrypted'),
  };
  const nameEcho = document.getElementById('setting-name-echo');
  const preview = document.getElementById('setting-preview');
  let editing = null; // index of the setting being edited, null when adding
  let nameAuto = true; // the name follows the label until the user edits it
  let showAll = false; // after a first save attempt, every field shows its problem

  function current() {
    const type = inputs.type.value;
    const label = inputs.label.value;
    return {
      label: label.trim(),
      name: inputs.name.value.trim() || settingNameFromLabel(label),
      type,
      description: inputs.description.value,
      required: inputs.required.checked,
      encrypted: type === 'string' && inputs.encrypted.checked,
    };
  }

  function problems(setting) {
    const found = {};
    if (!setting.label) found.label = 'A label is required.';
    else if (setting.label.length > MAX_LABEL) found.label = `At most ${MAX_LABEL} characters.`;
    if (!setting.name) {
      found.name = setting.label
        ? 'The label has no letter to make a name from: type a name.'
        : 'Type a label, or a name.';
    } else if (!NAME_PATTERN.test(setting.name)) {
      found.name =
        'Letters and digits only, starting with a letter (at most 64): it must be a JavaScript identifier.';
    } else if (
      draft.getSchema().some((other, index) => index !== editing && other.name === setting.name)
    ) {
      found.name = `Another setting is already named “${setting.name}”.`;
    }
    if (setting.description.length > MAX_DESCRIPTION)
      found.description = `At most ${MAX_DESCRIPTION} characters.`;
    return found;
  }

  function showProblems(found, touched) {
    for (const field of ['label', 'name', 'description']) {
      const message = showAll || touched.has(field) ? found[field] || '' : '';
      const input = inputs[field];
      document.getElementById(`setting-${field}-error`).textContent = message;
      if (message) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
  }

  const touched = new Set();

  function refresh() {
    const stringOnly = inputs.type.value === 'string';
    inputs.encrypted.disabled = !stringOnly;
    if (!stringOnly) inputs.encrypted.checked = false;
    const setting = current();
    nameEcho.textContent = setting.name || 'name';
    inputs.name.placeholder = settingNameFromLabel(inputs.label.value) || 'apiKey';
    ctx.settingsWidgets.renderSettingPreview(preview, setting);
    showProblems(problems(setting), touched);
  }

  inputs.label.addEventListener('input', () => {
    if (nameAuto) inputs.name.value = settingNameFromLabel(inputs.label.value);
    touched.add('label');
    if (inputs.name.value) touched.add('name');
    refresh();
  });
  inputs.name.addEventListener('input', () => {
    nameAuto = inputs.name.value === '';
    touched.add('name');
    refresh();
  });
  inputs.description.addEventListener('input', () => {
    touched.add('description');
    refresh();
  });
  for (const input of [inputs.type, inputs.required, inputs.encrypted]) {
    input.addEventListener('change', refresh);
  }

  function openEditor(index = null) {
    editing = index;
    const setting = index === null ? null : draft.getSchema()[index];
    inputs.label.value = setting ? setting.label : '';
    inputs.name.value = setting ? setting.name : '';
    inputs.type.value = setting ? setting.type : 'string';
    inputs.description.value = setting ? setting.description || '' : '';
    inputs.required.checked = Boolean(setting?.required);
    inputs.encrypted.checked = Boolean(setting?.encrypted);
    nameAuto = !setting || setting.name === settingNameFromLabel(setting.label);
    showAll = false;
    touched.clear();
    title.textContent = setting ? `Edit Setting: ${setting.label}` : 'Add Setting';
    saveButton.textContent = setting ? 'Save Setting' : 'Add Setting';
    refresh();
    openDialog(dialog, { focus: inputs.label });
  }

  function save() {
    const setting = current();
    const found = problems(setting);
    if (Object.keys(found).length) {
      showAll = true;
      showProblems(found, touched);
      inputs[Object.keys(found)[0]].focus();
      return;
    }
    const schema = draft.getSchema();
    if (editing === null) schema.push(setting);
    else schema[editing] = setting;
    draft.setSchema(schema);
    dialog.close('saved');
    ctx.notify(
      editing === null
        ? `Added the setting ${setting.label} (settings.${setting.name}).`
        : `Changed the setting ${setting.label}.`,
      'info',
    );
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    save();
  });
  addButton.addEventListener('click', () => openEditor(null));
  return { settingNameFromLabel, openEditor };
}
