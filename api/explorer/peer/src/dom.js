// Page helpers shared by the page's sections.

/**
 * cell appends to the table row tr a cell holding text (set as text, never
 * as markup), with className if given, and returns it.
 *
 * @param {HTMLTableRowElement} tr
 * @param {string} text
 * @param {string} [className]
 * @returns {HTMLTableCellElement}
 */
export function cell (tr, text, className) {
  const td = document.createElement('td')
  td.textContent = text
  if (className) td.className = className
  tr.append(td)
  return td
}
