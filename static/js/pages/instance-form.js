// Connecting a function to a source, or changing a destination's name, enabled switch and
// settings: the settings form is generated from the schema with the IDE's widgets, and
// the Config API validates (its messages are shown next to the fields they name).
import { apiSend } from '../lib/api.js';
import { renderSettingsForm } from '../lib/settings-widgets.js';

const config = JSON.parse(document.getElementById('instance-form-config').textContent);
const $ = (selector) => document.querySelector(selector);
const form = $('#instance-form');
const nameInput = $('#instance-name');
const errorBox = $('#instance-form-error');
let settingsForm = null;
let nameTouched = config.mode === 'edit';

function option(value, text) {
  const element = document.createElement('option');
  element.value = String(value);
  element.textContent = text;
  return element;
}

function chosen(list, select) {
  return list.find((item) => String(item.id) === select.value) || null;
}

function showError(text) {
  errorBox.textContent = text || '';
  errorBox.hidden = !text;
}

function renderSettings(schema, values, masked) {
  settingsForm = renderSettingsForm($('#instance-settings'), schema, values, { masked });
}

function suggestName() {
  if (nameTouched) return;
  const fn = chosen(config.functions, $('#instance-function'));
  const source = chosen(config.sources, $('#instance-source'));
  nameInput.value = fn && source ? `${fn.name} (${source.name})`.slice(0, 100) : '';
}

function setUpNew() {
  const functionSelect = $('#instance-function');
  const sourceSelect = $('#instance-source');
  functionSelect.append(...config.functions.map((fn) => option(fn.id, fn.name)));
  sourceSelect.append(...config.sources.map((source) => option(source.id, source.name)));
  if (config.function) functionSelect.value = String(config.function);
  if (config.source) sourceSelect.value = String(config.source);
  const onFunction = () => {
    const fn = chosen(config.functions, functionSelect);
    renderSettings(fn ? fn.settings_schema : [], {}, true);
    suggestName();
  };
  functionSelect.addEventListener('change', onFunction);
  sourceSelect.addEventListener('change', suggestName);
  onFunction();
  if (!config.sources.length) showError('This workspace has no source yet: create one first.');
}

function setUpEdit() {
  const { instance } = config;
  nameInput.value = instance.name;
  $('#instance-enabled').checked = instance.enabled;
  renderSettings(instance.settings_schema, instance.settings, instance.write_only);
}

/** The API's messages: "name: message" settings errors go next to their field. */
function showApiErrors(res) {
  const errors = res.data?.errors || {};
  const byField = {};
  const general = [];
  for (const [field, messages] of Object.entries(errors)) {
    for (const message of [].concat(messages)) {
      const match = field === 'settings' && /^(\w+): (.*)$/s.exec(String(message));
      if (match) byField[match[1]] = match[2];
      else general.push(field === 'non_field_errors' ? message : `${field}: ${message}`);
    }
  }
  settingsForm?.setErrors(byField);
  const named = Object.keys(byField).length ? 'Check the settings marked below.' : '';
  showError(general.join(' ') || named || res.data?.detail || 'The destination was not saved.');
}

async function submit(event) {
  event.preventDefault();
  showError('');
  if (!nameInput.value.trim()) {
    showError('Give the destination a name.');
    nameInput.focus();
    return;
  }
  if (settingsForm && !settingsForm.validate()) return;
  const body = {
    name: nameInput.value.trim(),
    enabled: $('#instance-enabled').checked,
    settings: settingsForm ? settingsForm.getValues() : {},
  };
  let url = config.urls.api_instances;
  let method = 'POST';
  if (config.mode === 'new') {
    body.function = Number($('#instance-function').value);
    body.source = Number($('#instance-source').value);
  } else {
    url = `${url}${config.instance.id}/`;
    method = 'PATCH';
  }
  const save = $('#instance-save');
  save.disabled = true;
  const res = await apiSend(method, url, body);
  save.disabled = false;
  if (!res.ok) {
    showApiErrors(res);
    return;
  }
  window.location.assign(`${config.urls.instance_base}${res.data.id}/`);
}

nameInput.addEventListener('input', () => {
  nameTouched = true;
});
form.addEventListener('submit', submit);
if (config.mode === 'new') setUpNew();
else setUpEdit();
