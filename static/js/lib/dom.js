// Building DOM nodes in page modules.

/**
 * `el('button', { class: 'btn', text: 'Save', disabled: true }, child...)`: attributes
 * left out when undefined, null or false; `class` and `text` set className and
 * textContent; non-text values of the node's own properties (onclick, checked) are set as
 * properties.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}
