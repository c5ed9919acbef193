// The Filters tab of a destination instance: its ordered rules built in the page, saved
// whole through PUT .../instances/<id>/filters/, and tested on an event (typed, or one of
// the source's recent events) through POST .../filters/preview/. The rules' meaning is the
// server's (pipeline/filters.py); this page only edits their JSON. Read-only members see
// the rules without controls (the server refuses their changes anyway).
import { apiGet, apiSend, errorMessage } from '../lib/api.js';
import { el } from '../lib/dom.js';

const config = JSON.parse(document.getElementById('filters-config').textContent);
const canChange = Boolean(config.canChange);
const list = document.getElementById('filter-rules');
const empty = document.getElementById('filter-rules-empty');

const ACTION_LABELS = { only_send: 'Only send events', drop: 'Drop events' };
const OPERATOR_LABELS = {
  equals: 'equals',
  not_equals: 'does not equal',
  contains: 'contains',
  exists: 'exists',
  not_exists: 'does not exist',
  in: 'is one of',
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
};
const VALUELESS = new Set(['exists', 'not_exists']);
const VALUE_HELP =
  'Text as typed; a number, true, false or null as JSON ("1" in quotes for the text 1).';
const LIST_HELP = 'Values separated by commas, or a JSON list.';

// The rules as edited, in the stored shape (values kept as the text typed, see valueText).
let rules = config.rules.map(fromStored);

function valueText(value) {
  if (typeof value !== 'string') return JSON.stringify(value);
  return readScalar(value) === value ? value : JSON.stringify(value);
}

/** A typed value: JSON when it reads as a number, true, false, null or a quoted text. */
function readScalar(text) {
  const trimmed = text.trim();
  if (/^(-?\d|true$|false$|null$|")/.test(trimmed)) {
    try {
      const value = JSON.parse(trimmed);
      if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) return value;
    } catch {
      // Not JSON: the text as it is.
    }
  }
  return text;
}

function readList(text) {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      const value = JSON.parse(trimmed);
      if (Array.isArray(value)) return value;
    } catch {
      // Not a JSON list: comma-separated.
    }
  }
  return trimmed === '' ? [] : trimmed.split(',').map((part) => readScalar(part.trim()));
}

function listText(values) {
  const texts = values.map(valueText);
  return texts.some((text) => text.includes(',')) ? JSON.stringify(values) : texts.join(', ');
}

function fromStored(rule) {
  if (rule.action === 'drop_fields')
    return { action: 'drop_fields', fieldsText: rule.fields.join('\n') };
  return {
    action: rule.action,
    match: rule.match || 'all',
    conditions: rule.conditions.map((condition) => ({
      field: condition.field,
      op: condition.op,
      valueText: !('value' in condition)
        ? ''
        : condition.op === 'in'
          ? listText(condition.value)
          : valueText(condition.value),
    })),
  };
}

function toStored(rule) {
  if (rule.action === 'drop_fields') {
    const fields = rule.fieldsText.split('\n').map((line) => line.trim());
    return { action: 'drop_fields', fields: fields.filter(Boolean) };
  }
  return {
    action: rule.action,
    match: rule.match,
    conditions: rule.conditions.map(({ field, op, valueText: text }) => {
      const condition = { field: field.trim(), op };
      if (op === 'in') condition.value = readList(text);
      else if (!VALUELESS.has(op)) condition.value = readScalar(text);
      return condition;
    }),
  };
}

function newCondition() {
  return { field: 'event', op: 'equals', valueText: '' };
}

// --- rendering ---------------------------------------------------------------------------

function select(options, value, onChange, label) {
  const node = el('select', { 'aria-label': label, disabled: !canChange });
  for (const [optionValue, text] of options) {
    node.append(el('option', { value: optionValue, text, selected: optionValue === value }));
  }
  node.addEventListener('change', () => onChange(node.value));
  return node;
}

function button(text, onClick, attrs = {}) {
  if (!canChange) return null;
  const node = el('button', { type: 'button', class: 'btn btn-sm', text, ...attrs });
  node.addEventListener('click', onClick);
  return node;
}

function changed() {
  const state = document.getElementById('filters-save-state');
  if (state) state.textContent = 'Unsaved changes';
}

function textInput(value, onInput, attrs) {
  const node = el('input', { type: 'text', value, disabled: !canChange, ...attrs });
  node.addEventListener('input', () => {
    onInput(node.value);
    changed();
  });
  return node;
}

function conditionRow(rule, condition, index) {
  const valueInput = textInput(
    condition.valueText,
    (text) => {
      condition.valueText = text;
    },
    {
      class: 'filter-value',
      'aria-label': 'Value',
      title: condition.op === 'in' ? LIST_HELP : VALUE_HELP,
      placeholder: condition.op === 'in' ? 'a, b, c' : 'value',
      hidden: VALUELESS.has(condition.op),
    },
  );
  const ops = config.operators.map((op) => [op, OPERATOR_LABELS[op] || op]);
  return el(
    'li',
    { class: 'filter-condition' },
    textInput(
      condition.field,
      (text) => {
        condition.field = text;
      },
      {
        class: 'filter-field',
        'aria-label': 'Field',
        list: 'filter-field-names',
        placeholder: 'properties.plan',
      },
    ),
    select(
      ops,
      condition.op,
      (op) => {
        condition.op = op;
        changed();
        render();
      },
      'Operator',
    ),
    valueInput,
    button(
      'Remove',
      () => {
        rule.conditions.splice(index, 1);
        changed();
        render();
      },
      { 'aria-label': 'Remove condition', disabled: rule.conditions.length === 1 },
    ),
  );
}

function conditionsBody(rule) {
  const actions = Object.entries(ACTION_LABELS);
  const matches = [
    ['all', 'all of these hold'],
    ['any', 'any of these holds'],
  ];
  return [
    el(
      'p',
      { class: 'filter-rule-head' },
      select(
        actions,
        rule.action,
        (action) => {
          rule.action = action;
          changed();
        },
        'Action',
      ),
      ' where ',
      select(
        matches,
        rule.match,
        (match) => {
          rule.match = match;
          changed();
        },
        'Match',
      ),
    ),
    el(
      'ul',
      { class: 'filter-conditions' },
      ...rule.conditions.map((condition, index) => conditionRow(rule, condition, index)),
    ),
    button('Add a condition', () => {
      rule.conditions.push(newCondition());
      changed();
      render();
    }),
  ];
}

function dropFieldsBody(rule) {
  const area = el('textarea', {
    rows: 3,
    class: 'filter-drop-fields',
    'aria-label': 'Fields to drop, one path a line',
    placeholder: 'properties.password\ncontext.ip',
    disabled: !canChange,
  });
  area.value = rule.fieldsText;
  area.addEventListener('input', () => {
    rule.fieldsText = area.value;
    changed();
  });
  return [
    el('p', {
      class: 'filter-rule-head',
      text: 'Drop these fields before the function sees the event (one path a line, inside properties, traits or context):',
    }),
    area,
  ];
}

function move(index, by) {
  const [rule] = rules.splice(index, 1);
  rules.splice(index + by, 0, rule);
  changed();
  render();
}

function ruleItem(rule, index) {
  const tools = el(
    'span',
    { class: 'filter-rule-tools' },
    button('Up', () => move(index, -1), { 'aria-label': 'Move up', disabled: index === 0 }),
    button('Down', () => move(index, 1), {
      'aria-label': 'Move down',
      disabled: index === rules.length - 1,
    }),
    button(
      'Remove',
      () => {
        rules.splice(index, 1);
        changed();
        render();
      },
      { class: 'btn btn-sm btn-danger', 'aria-label': 'Remove rule' },
    ),
  );
  const body = rule.action === 'drop_fields' ? dropFieldsBody(rule) : conditionsBody(rule);
  return el(
    'li',
    { class: 'filter-rule', 'data-rule': String(index + 1) },
    el('div', { class: 'filter-rule-title' }, el('strong', { text: `Rule #${index + 1}` }), tools),
    ...body,
    el('p', { class: 'field-error filter-rule-error', role: 'alert' }),
  );
}

function render() {
  list.replaceChildren(...rules.map(ruleItem));
  empty.hidden = rules.length > 0;
}

function fieldNames() {
  const names = [...config.topLevelFields, ...config.containers.map((name) => `${name}.`)];
  return el(
    'datalist',
    { id: 'filter-field-names' },
    ...names.map((value) => el('option', { value })),
  );
}

// --- saving ------------------------------------------------------------------------------

function showErrors(message) {
  for (const node of list.querySelectorAll('.filter-rule-error')) node.textContent = '';
  const general = document.getElementById('filters-error');
  if (general) general.textContent = '';
  if (!message) return;
  const found = /^Rule #(\d+)/.exec(message);
  const item = found && list.querySelector(`[data-rule="${found[1]}"] .filter-rule-error`);
  if (item) item.textContent = message;
  else if (general) general.textContent = message;
}

function ruleError(result) {
  const errors = result.data?.errors || {};
  const rulesErrors = [].concat(errors.rules || []);
  return rulesErrors.length ? rulesErrors.join(' ') : errorMessage(result);
}

async function save() {
  const state = document.getElementById('filters-save-state');
  const body = { rules: rules.map(toStored) };
  state.textContent = 'Saving…';
  const result = await apiSend('PUT', config.filtersUrl, body);
  if (!result.ok) {
    state.textContent = 'Not saved';
    showErrors(ruleError(result));
    return;
  }
  showErrors('');
  rules = result.data.rules.map(fromStored);
  render();
  state.textContent = 'Saved';
}

// --- testing on an event -----------------------------------------------------------------

async function loadRecentEvents() {
  const picker = document.getElementById('recent-event');
  const result = await apiGet(`${config.recentEventsUrl}?limit=100`);
  const events = result.ok ? result.data.results : [];
  const first = result.ok
    ? events.length
      ? 'Pick one to test it…'
      : 'The source has sent no events yet'
    : `Could not load them: ${errorMessage(result)}`;
  picker.replaceChildren(el('option', { value: '', text: first }));
  events.forEach((event, index) => {
    const label = [event.type, event.event.event || event.event.name, event.received_at];
    picker.append(el('option', { value: String(index), text: label.filter(Boolean).join(' · ') }));
  });
  picker.addEventListener('change', () => {
    const event = events[Number(picker.value)];
    if (picker.value !== '' && event) {
      document.getElementById('preview-event').value = JSON.stringify(event.event, null, 2);
    }
  });
}

async function runPreview() {
  const errorNode = document.getElementById('preview-error');
  const output = document.getElementById('preview-result');
  errorNode.textContent = '';
  let event;
  try {
    event = JSON.parse(document.getElementById('preview-event').value);
  } catch (error) {
    errorNode.textContent = `The event is not valid JSON: ${error.message}`;
    output.hidden = true;
    return;
  }
  const result = await apiSend('POST', config.previewUrl, { event, rules: rules.map(toStored) });
  for (const node of list.querySelectorAll('.filter-rule.matched'))
    node.classList.remove('matched');
  if (!result.ok) {
    const message = ruleError(result);
    errorNode.textContent = message;
    showErrors(canChange ? message : '');
    output.hidden = true;
    return;
  }
  const { decision, rule, reason } = result.data;
  const badge = document.getElementById('preview-decision');
  badge.textContent = decision;
  badge.className = `badge ${decision === 'drop' ? 'decision-drop' : 'decision-send'}`;
  document.getElementById('preview-reason').textContent =
    decision === 'drop' ? `by ${reason}` : 'the function is invoked with this event';
  document.getElementById('preview-output').textContent = JSON.stringify(
    result.data.event,
    null,
    2,
  );
  if (rule) list.querySelector(`[data-rule="${rule}"]`)?.classList.add('matched');
  output.hidden = false;
}

// --- wiring ------------------------------------------------------------------------------

document.body.append(fieldNames());
render();
if (canChange) {
  document.getElementById('add-condition-rule').addEventListener('click', () => {
    rules.push({ action: 'drop', match: 'all', conditions: [newCondition()] });
    changed();
    render();
  });
  document.getElementById('add-drop-fields-rule').addEventListener('click', () => {
    rules.push({ action: 'drop_fields', fieldsText: '' });
    changed();
    render();
  });
  document.getElementById('save-filters').addEventListener('click', save);
}
document.getElementById('run-preview').addEventListener('click', runPreview);
loadRecentEvents();
document.documentElement.dataset.filtersReady = '';
