// hubbook console: progressive enhancement only. Every page works without this script.
// - starts the NHS design system's components;
// - after an htmx swap, moves focus to the error summary, the element marked autofocus, or the
//   new h1, and says the new page's title in the one live region;
// - counts down the hold, and warns 30 seconds before it ends;
// - "/" (outside a text field) returns to the search box.
import { initAll } from './nhsuk-frontend.min.js'

document.body.classList.add('js-enabled', 'nhsuk-frontend-supported')

function start (scope) {
  try { initAll({ scope }) } catch (e) { /* a component that fails must not stop the page */ }
  for (const button of scope.querySelectorAll('.console-print')) {
    button.hidden = false
    button.addEventListener('click', () => window.print())
  }
  countdown()
  sessionWarning()
}

function announce (text) {
  const region = document.getElementById('announce')
  if (!region) return
  region.textContent = ''
  window.setTimeout(() => { region.textContent = text }, 100)
}

function focusAfterSwap () {
  const target = document.querySelector('.nhsuk-error-summary') ||
    document.querySelector('[autofocus]') ||
    document.querySelector('main h1')
  if (!target) return
  if (target.tagName === 'H1' && !target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1')
  target.focus()
}

let timer = null
function countdown () {
  if (timer) window.clearInterval(timer)
  const note = document.getElementById('hold-countdown')
  if (!note) return
  let left = parseInt(note.dataset.seconds || '0', 10)
  if (!(left > 0)) return
  const until = note.textContent
  timer = window.setInterval(() => {
    left -= 1
    if (left === 30) announce('30 seconds left on the hold. Select Keep holding to keep the slot.')
    if (left <= 0) {
      window.clearInterval(timer)
      note.textContent = 'The hold on this slot has run out. Select “Keep holding” to hold it again.'
      announce(note.textContent)
      return
    }
    const m = Math.floor(left / 60)
    const s = String(left % 60).padStart(2, '0')
    note.textContent = until.replace(/\(about [^)]*\)/, '(' + m + ':' + s + ' left)')
  }, 1000)
}

// Five minutes before the session ends, say so once, with how to stay signed in.
let sessionTimer = null
function sessionWarning () {
  if (sessionTimer) window.clearTimeout(sessionTimer)
  const note = document.getElementById('session-note')
  if (!note || !note.dataset.ends) return
  const wait = Date.parse(note.dataset.ends) - Date.now() - 5 * 60 * 1000
  if (!(wait > 0)) return
  sessionTimer = window.setTimeout(() => {
    announce('Your session ends in 5 minutes. Select Stay signed in, at the foot of the page, to keep working.')
  }, Math.min(wait, 2147483647))
}

document.addEventListener('htmx:afterSettle', (event) => {
  if (event.detail && event.detail.target !== document.body) return
  start(document.body)
  focusAfterSwap()
  const region = document.getElementById('announce')
  if (region) announce(region.dataset.announce || document.title)
})

document.addEventListener('keydown', (event) => {
  if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return
  const t = event.target
  if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return
  event.preventDefault()
  const box = document.getElementById('nhs')
  if (box) { box.focus(); box.select() } else { window.location.assign('/') }
})

start(document.body)
