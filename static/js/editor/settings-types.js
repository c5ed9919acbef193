// Type declarations for the function's own settings, generated from the draft's settings
// schema and handed to Monaco's TypeScript worker whenever the schema changes, so that
// `settings.` (with `@param {FunctionSettings} settings`) completes the real names, with
// their types and descriptions.

const TS_TYPES = {
  string: 'string',
  boolean: 'boolean',
  array: 'string[]',
  map: 'Record<string, string>',
};

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function docText(text) {
  // Nothing in a setting's label or description may end the comment early.
  return String(text || '')
    .replace(/\*\//g, '*\u2215')
    .replace(/\r?\n/g, '\n * ');
}

function docComment(setting) {
  const lines = [];
  const label = (setting.label || '').trim();
  if (label) lines.push(`**${docText(label)}**`);
  if (setting.description) lines.push(docText(setting.description));
  const facts = [setting.required ? 'Required' : 'Optional', setting.type || 'string'];
  if (setting.encrypted) facts.push('encrypted');
  lines.push(`_${facts.join(', ')}_`);
  return `  /**\n   * ${lines.join('\n   *\n   * ')}\n   */`;
}

/** The `.d.ts` text declaring `interface FunctionSettings` for `schema`. */
export function settingsTypes(schema) {
  const members = (schema || [])
    .filter((setting) => setting?.name)
    .map((setting) => {
      const key = IDENTIFIER.test(setting.name) ? setting.name : JSON.stringify(setting.name);
      const optional = setting.required ? '' : '?';
      const type = TS_TYPES[setting.type] || 'unknown';
      return `${docComment(setting)}\n  ${key}${optional}: ${type};`;
    });
  return [
    '/** The settings of this function, as each destination instance configures them',
    ' * (the Settings tab). Optional ones may be missing. */',
    'interface FunctionSettings {',
    ...members,
    '}',
    '',
  ].join('\n');
}
