// The parts of Monaco this IDE uses, and nothing else: `import 'monaco-editor'` would bundle
// ~80 languages' registrations, the CSS and HTML services, the LSP client and every editor
// contribution into the editor page's first chunks. Each import below registers one
// contribution; add one here when a page starts using an action or language it provides.
// static/js/editor/monaco.js is the only module that imports this one.

// The API (monaco.editor, monaco.languages, Range, Uri, ...): the code editor widget, its
// core cursor commands, models, themes and markers (squiggles).
export * from 'monaco-editor/editor/editor.api.js';
// The icon font (codicons) the widgets draw with.
import 'monaco-editor/features/codicon/register.js';

// Languages: JavaScript's tokenizer (set up when the first JavaScript model is created),
// IntelliSense for it from the TypeScript worker, and JSON (the Test panel's manual input)
// with its own worker for validation, formatting and folding.
import 'monaco-editor/languages/definitions/javascript/register.js';
export * as typescript from 'monaco-editor/languages/features/typescript/register.js';
export * as json from 'monaco-editor/languages/features/json/register.js';

// IntelliSense: completions (with snippet placeholders), parameter hints, hover, inlay
// hints, quick fixes and refactorings, rename, go to definition / peek references, and
// F8 through the problems.
import 'monaco-editor/editor/contrib/suggest/browser/suggestController.js';
import 'monaco-editor/editor/contrib/snippet/browser/snippetController2.js';
import 'monaco-editor/editor/contrib/parameterHints/browser/parameterHints.js';
import 'monaco-editor/editor/contrib/hover/browser/hoverContribution.js';
import 'monaco-editor/editor/contrib/inlayHints/browser/inlayHintsContribution.js';
import 'monaco-editor/editor/contrib/codeAction/browser/codeActionContributions.js';
import 'monaco-editor/editor/contrib/rename/browser/rename.js';
import 'monaco-editor/editor/contrib/gotoSymbol/browser/goToCommands.js';
import 'monaco-editor/editor/contrib/gotoSymbol/browser/link/goToDefinitionAtPosition.js';
import 'monaco-editor/editor/standalone/browser/referenceSearch/standaloneReferenceSearch.js';
import 'monaco-editor/editor/contrib/gotoError/browser/gotoError.js';
import 'monaco-editor/editor/contrib/wordHighlighter/browser/wordHighlighter.js';
import 'monaco-editor/editor/contrib/links/browser/links.js';

// Editing: Format Document (the toolbar's Format button), find / replace (with the tab
// order fix of Monaco's own find entry point), comments, bracket matching, folding,
// multiple cursors, line and word commands, expand selection, drag to move text,
// indentation on paste, soft undo, sticky scroll.
import 'monaco-editor/editor/contrib/format/browser/formatActions.js';
import 'monaco-editor/features/find/register.js';
import 'monaco-editor/editor/contrib/comment/browser/comment.js';
import 'monaco-editor/editor/contrib/bracketMatching/browser/bracketMatching.js';
import 'monaco-editor/editor/contrib/folding/browser/folding.js';
import 'monaco-editor/editor/contrib/multicursor/browser/multicursor.js';
import 'monaco-editor/editor/contrib/linesOperations/browser/linesOperations.js';
import 'monaco-editor/editor/contrib/lineSelection/browser/lineSelection.js';
import 'monaco-editor/editor/contrib/wordOperations/browser/wordOperations.js';
import 'monaco-editor/editor/contrib/smartSelect/browser/smartSelect.js';
import 'monaco-editor/editor/contrib/dnd/browser/dnd.js';
import 'monaco-editor/editor/contrib/indentation/browser/indentation.js';
import 'monaco-editor/editor/contrib/cursorUndo/browser/cursorUndo.js';
import 'monaco-editor/editor/contrib/stickyScroll/browser/stickyScrollContribution.js';

// Around the text: the context menu with cut / copy / paste, the command palette (F1), go
// to line (Ctrl+G) and to symbol (Ctrl+Shift+O), the diff editor (Versions tab, deploy
// dialog), the read-only message, Ctrl+M (the editor's aria label tells people about it)
// and the marking of invisible or confusable Unicode characters.
import 'monaco-editor/editor/contrib/contextmenu/browser/contextmenu.js';
import 'monaco-editor/editor/contrib/clipboard/browser/clipboard.js';
import 'monaco-editor/editor/standalone/browser/quickAccess/standaloneCommandsQuickAccess.js';
import 'monaco-editor/editor/standalone/browser/quickAccess/standaloneGotoLineQuickAccess.js';
import 'monaco-editor/editor/standalone/browser/quickAccess/standaloneGotoSymbolQuickAccess.js';
import 'monaco-editor/editor/browser/widget/diffEditor/diffEditor.contribution.js';
import 'monaco-editor/editor/contrib/readOnlyMessage/browser/contribution.js';
import 'monaco-editor/editor/contrib/toggleTabFocusMode/browser/toggleTabFocusMode.js';
import 'monaco-editor/editor/contrib/unicodeHighlighter/browser/unicodeHighlighter.js';
