// F2: the Save & Deploy dialog. Opened by the editor after a save succeeded, with the new
// version's number: lists this function's destinations with checkboxes and a per-instance
// diff (its deployed code -> the new code), checks the saved test cases against the new
// version through the preview API, and deploys to the chosen destinations only.
import {
  apiList,
  apiSend,
  clear,
  createSnapshotDiff,
  dialogToBody,
  errorText,
  h,
  healthDot,
  outcomeLabel,
  RunSocket,
  settingsForSending,
  sourceName,
  withSlash,
} from './panels-common.js';
import { getVersion, latestNumber, loadInstances } from './versions.js';

const RIGHTS_MESSAGE = 'Deploying needs Source Admin as well as Functions Admin.';

let session = null; // the dialog's current opening

function setup(dialog) {
  if (dialog.dataset.ready) return;
  dialog.dataset.ready = 'yes';
  for (const button of dialog.querySelectorAll('[data-deploy-close]')) {
    button.addEventListener('click', () => dialog.close());
  }
  dialog.addEventListener('close', () => {
    const s = session;
    session = null;
    if (!s) return;
    for (const diff of s.diffs.values()) diff.dispose();
    s.diffs.clear();
    s.closeRunner?.();
    s.resolve(s.result);
  });
  dialog.querySelector('#deploy-submit').addEventListener('click', () => session?.deploy(false));
  dialog
    .querySelector('#deploy-confirm-yes')
    .addEventListener('click', () => session?.deploy(true));
  dialog.querySelector('#deploy-confirm-no').addEventListener('click', () => {
    dialog.querySelector('#deploy-confirm').hidden = true;
    dialog.querySelector('#deploy-submit').focus();
  });
}

/** Runs messages over a test-run websocket of its own, one at a time; each run resolves
 * with {outcome, ...} or {message} (refused, failed, connection lost). */
function caseRunner(url) {
  let pending = null;
  let counter = 0;
  const settle = (answer) => {
    const p = pending;
    pending = null;
    if (p) {
      clearTimeout(p.timer);
      p.resolve(answer);
    }
  };
  const socket = new RunSocket(url, {
    onMessage(message) {
      if (!pending || message.run_id !== pending.runId) {
        if (pending && message.type === 'error' && !message.run_id)
          settle({ message: message.message });
        return;
      }
      if (message.type === 'outcome') settle(message);
      else if (message.type === 'error') settle({ message: message.message });
      else if (message.type === 'run.cancelled') settle({ message: 'cancelled' });
    },
    onClose() {
      settle({ message: 'the connection to the test runner was lost' });
    },
  });
  return {
    run(fields) {
      const runId = `deploy-${++counter}-${Date.now().toString(36)}`;
      return new Promise((resolve) => {
        pending = {
          runId,
          resolve,
          timer: setTimeout(() => settle({ message: 'no answer from the test runner' }), 75_000),
        };
        socket.send({ type: 'run', run_id: runId, ...fields }).catch((error) => {
          settle({ message: String(error.message || error) });
        });
      });
    },
    close() {
      settle({ message: 'closed' });
      socket.close();
    },
  };
}

/** One saved case against a saved version through the preview API. Secrets the case holds
 * are not sent back by the server, so a case that needs one can only run over the socket. */
async function previewCase(ctx, testCase, version, number) {
  const res = await apiSend(ctx, 'POST', `${withSlash(ctx.config.urls.api_function)}preview/`, {
    version: number,
    settings: settingsForSending(version?.settings_schema || [], testCase.settings || {}),
    payload: testCase.payload,
  });
  return res.ok ? res.data : { message: errorText(res, 'the test run failed') };
}

/** Opens the dialog for `version` (default LATEST); resolves, once closed, with
 * {version, instances} when something was deployed, otherwise null. */
export function openDeployDialog(ctx, { version } = {}) {
  const dialog = dialogToBody(document.getElementById('deploy-dialog'));
  if (!dialog) return Promise.resolve(null);
  setup(dialog);
  if (dialog.open) dialog.close();
  const config = ctx.config;
  const number = Number(version ?? latestNumber(ctx));
  const $ = (selector) => dialog.querySelector(selector);
  let resolve;
  const closed = new Promise((r) => {
    resolve = r;
  });
  const s = {
    resolve,
    result: null,
    diffs: new Map(),
    caseCheck: null,
    deploying: false,
    deploy: (confirmed) => deploy(confirmed),
  };
  session = s;
  const live = () => session === s;

  $('#deploy-dialog-title').textContent = `Deploy version ${number}`;
  $('#deploy-intro').textContent =
    `Version ${number} is saved as LATEST. Deploy it to the destinations that should run it; ` +
    'the others keep the version they run.';
  $('#deploy-error').hidden = true;
  $('#deploy-confirm').hidden = true;
  $('#deploy-selection').textContent = '';
  $('#deploy-cases-status').textContent = 'Loading…';
  clear($('#deploy-cases'));
  const tbody = clear($('#deploy-instances tbody'));
  tbody.append(h('tr', h('td.muted', { colSpan: 7 }, 'Loading destinations…')));
  const rights = $('#deploy-rights');
  rights.hidden = Boolean(config.can_deploy);
  rights.textContent = config.can_deploy
    ? ''
    : `${RIGHTS_MESSAGE} You can save versions; someone with both roles can deploy them.`;
  const submit = $('#deploy-submit');
  submit.disabled = true;
  submit.hidden = !config.can_deploy;
  dialog.showModal();

  function selected() {
    return [...tbody.querySelectorAll('input[type=checkbox][data-instance]:checked')].map((box) =>
      Number(box.dataset.instance),
    );
  }

  function updateSelection() {
    const ids = selected();
    submit.disabled = !config.can_deploy || ids.length === 0 || s.deploying;
    $('#deploy-selection').textContent = ids.length
      ? `${ids.length} destination${ids.length === 1 ? '' : 's'} selected`
      : config.can_deploy
        ? 'Choose where to deploy.'
        : '';
    submit.textContent = ids.length ? `Deploy v${number} to ${ids.length}` : 'Deploy';
  }

  async function toggleDiff(instance, diffRow, button) {
    const open = diffRow.hidden;
    diffRow.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    button.textContent = open ? 'Hide diff' : 'Diff';
    if (!open || s.diffs.has(instance.id)) return;
    const holder = diffRow.querySelector('.deploy-diff');
    clear(holder).append(h('p.muted.small', 'Loading…'));
    try {
      const [before, after] = await Promise.all([
        getVersion(ctx, instance.deployed_version),
        getVersion(ctx, number),
      ]);
      if (!live()) return;
      clear(holder);
      if (before.code === after.code) {
        holder.append(
          h(
            'p.muted.small.deploy-diff-note',
            `The code of v${instance.deployed_version} and v${number} is the same.`,
          ),
        );
      }
      const labels = h(
        'div.diff-labels',
        h('span.diff-label', `v${instance.deployed_version} (deployed on ${instance.name})`),
        h('span.diff-label', `v${number} (new)`),
      );
      const container = h('div.deploy-diff-editor');
      holder.append(labels, container);
      s.diffs.set(
        instance.id,
        createSnapshotDiff(ctx, container, { original: before.code, modified: after.code }),
      );
    } catch (error) {
      if (live()) clear(holder).append(h('p.errorlist', String(error.message || error)));
    }
  }

  function renderInstances(instances) {
    clear(tbody);
    $('#deploy-no-instances').hidden = instances.length > 0;
    $('#deploy-instances').hidden = instances.length === 0;
    for (const instance of instances) {
      const id = `deploy-instance-${instance.id}`;
      const box = h('input', {
        type: 'checkbox',
        id,
        'data-instance': String(instance.id),
        disabled: !config.can_deploy,
        title: config.can_deploy ? `Deploy v${number} to ${instance.name}` : RIGHTS_MESSAGE,
        onchange: updateSelection,
      });
      const diffButton = h('button.btn.btn-sm', {
        type: 'button',
        text: 'Diff',
        'aria-expanded': 'false',
        'aria-controls': `deploy-diff-${instance.id}`,
        'data-action': 'diff',
      });
      const already = instance.deployed_version === number;
      const row = h(
        'tr.deploy-instance',
        { dataset: { instance: String(instance.id) } },
        h('td', box),
        h('td', h('label.strong', { for: id }, instance.name)),
        h('td', sourceName(ctx, instance)),
        h(
          'td',
          instance.enabled ? h('span.badge.state-on', 'enabled') : h('span.badge', 'disabled'),
        ),
        h(
          'td',
          h('span.badge', `v${instance.deployed_version}`),
          already ? h('span.muted.small', ' already runs it') : null,
        ),
        h('td', healthDot(instance, number)),
        h('td.right', diffButton),
      );
      const diffRow = h(
        'tr.deploy-diff-row',
        { id: `deploy-diff-${instance.id}`, hidden: true },
        h('td', { colSpan: 7 }, h('div.deploy-diff')),
      );
      diffButton.addEventListener('click', () => toggleDiff(instance, diffRow, diffButton));
      tbody.append(row, diffRow);
    }
    updateSelection();
  }

  async function checkCases() {
    const status = $('#deploy-cases-status');
    const list = $('#deploy-cases');
    if (!config.function || !config.urls?.api_test_cases || !config.can_run) {
      status.textContent = 'Saved test cases are not checked: running them needs Functions Admin.';
      return { failed: [], total: 0 };
    }
    const { ok, res, items } = await apiList(ctx, config.urls.api_test_cases);
    if (!live()) return { failed: [], total: 0 };
    if (!ok) {
      status.textContent = errorText(res, 'The saved test cases could not be loaded.');
      return { failed: [], total: 0, error: true };
    }
    if (!items.length) {
      status.textContent =
        'No saved test cases: save some in the Test tab to check a version before it is deployed.';
      return { failed: [], total: 0 };
    }
    const rows = new Map();
    for (const testCase of items) {
      const state = h('span.tp-case-result.tp-case-running', 'Running…');
      rows.set(testCase.id, state);
      list.append(
        h(
          'li.deploy-case',
          { dataset: { caseId: String(testCase.id) } },
          h('span.deploy-case-name', testCase.name),
          h('span.muted.small', ` expects ${outcomeLabel(testCase.expected_outcome)} `),
          state,
        ),
      );
    }
    status.textContent = `Running ${items.length} saved test case${items.length === 1 ? '' : 's'} with version ${number}…`;
    let version = null;
    try {
      version = await getVersion(ctx, number);
    } catch {
      version = null;
    }
    const failed = [];
    const runner =
      version && config.urls?.ws_test_runs ? caseRunner(config.urls.ws_test_runs) : null;
    s.closeRunner = () => runner?.close();
    try {
      for (const testCase of items) {
        // Over the test-run websocket, the server fills in the case's event and values
        // (its secrets included); the preview API is the way without one.
        const answer = runner
          ? await runner.run({
              function_id: config.function.id,
              code: version.code,
              settings_schema: version.settings_schema || [],
              settings: {},
              payload: null,
              test_case_id: testCase.id,
            })
          : await previewCase(ctx, testCase, version, number);
        if (!live()) return { failed, total: items.length };
        const state = rows.get(testCase.id);
        if (answer.outcome) {
          const outcome = answer.outcome;
          const pass = outcome === testCase.expected_outcome;
          state.className = `tp-case-result ${pass ? 'tp-case-pass' : 'tp-case-fail'}`;
          state.textContent = pass
            ? `✓ Pass (${outcomeLabel(outcome)})`
            : `✗ Fail: got ${outcomeLabel(outcome)}`;
          if (!pass) failed.push({ testCase, outcome });
        } else {
          state.className = 'tp-case-result tp-case-fail';
          state.textContent = `✗ Not run: ${answer.message || 'the test run failed'}`;
          failed.push({ testCase, outcome: null, reason: answer.message });
        }
      }
    } finally {
      runner?.close();
    }
    const passed = items.length - failed.length;
    status.textContent = `${passed} of ${items.length} saved test case${items.length === 1 ? '' : 's'} pass with version ${number}.`;
    status.classList.toggle('deploy-cases-failing', failed.length > 0);
    return { failed, total: items.length };
  }

  async function deploy(confirmed) {
    const ids = selected();
    if (!ids.length || s.deploying || !config.can_deploy) return;
    $('#deploy-error').hidden = true;
    if (!confirmed) {
      submit.disabled = true;
      submit.textContent = 'Checking test cases…';
      const check = await s.caseCheck;
      if (!live()) return;
      updateSelection();
      if (check?.failed.length) {
        const names = check.failed
          .map(({ testCase, outcome }) =>
            outcome
              ? `“${testCase.name}” (got ${outcomeLabel(outcome)})`
              : `“${testCase.name}” (not run)`,
          )
          .join(', ');
        $('#deploy-confirm-text').textContent =
          `${check.failed.length} of ${check.total} saved test case${check.total === 1 ? '' : 's'} ` +
          `fail${check.failed.length === 1 ? 's' : ''} with version ${number}: ${names}. Deploy anyway?`;
        $('#deploy-confirm').hidden = false;
        $('#deploy-confirm-yes').focus();
        return;
      }
    }
    $('#deploy-confirm').hidden = true;
    s.deploying = true;
    submit.disabled = true;
    submit.textContent = 'Deploying…';
    const res = await apiSend(ctx, 'POST', config.urls.api_deployments, {
      version: number,
      instances: ids,
    });
    s.deploying = false;
    if (!live()) return;
    if (!res.ok) {
      const node = $('#deploy-error');
      node.textContent = errorText(res, 'The deployment failed.');
      node.hidden = false;
      updateSelection();
      return;
    }
    const names = (config.instances || []).filter((i) => ids.includes(i.id)).map((i) => i.name);
    s.result = { version: number, instances: ids };
    ctx.notify(
      `Deployed version ${number} to ${names.join(', ') || `${ids.length} destinations`}.`,
      'success',
    );
    dialog.close();
    await Promise.resolve(ctx.refreshVersions?.()).catch(() => {});
  }

  (async () => {
    let instances;
    try {
      instances = await loadInstances(ctx);
    } catch (error) {
      instances = config.instances || [];
      if (live()) {
        const node = $('#deploy-error');
        node.textContent = String(error.message || error);
        node.hidden = false;
      }
    }
    if (!live()) return;
    renderInstances(instances);
  })();
  s.caseCheck = checkCases().catch((error) => {
    if (live()) $('#deploy-cases-status').textContent = String(error.message || error);
    return { failed: [], total: 0 };
  });
  return closed;
}
