// The reset page's script: reads the link's fragment, posts contract C, shows the answer.
// No framework and no HTML from strings: every text goes in through textContent, so the
// page keeps working under a CSP with Trusted Types. The words are the server's: it renders
// them in the visitor's language from the message catalogue into #strings' data attributes.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const form = $('reset-form');
  const submit = $('submit');
  const keyMeta = document.querySelector('meta[name="resetkit-confirm-key"]');
  const apiKey = keyMeta ? keyMeta.content : '';
  // Relative, so the page works wherever the function is mounted: `/reset` behind API
  // Gateway posts to `/user/password/reset`, `/lambda-url/password-confirm/reset` locally
  // posts to `/lambda-url/password-confirm/user/password/reset`.
  const endpoint = new URL('user/password/reset', document.baseURI).href;
  const t = $('strings').dataset;

  // Flow B: the link carries LeadId and TemporaryPassword in the fragment, which no server
  // sees. Keep them in memory only and take them out of the address bar and history.
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  let lead = fragment.get('LeadId');
  let secret = fragment.get('TemporaryPassword');
  const fromLink = fragment.has('LeadId') || fragment.has('TemporaryPassword');
  if (location.hash) {
    history.replaceState(null, '', location.pathname + location.search);
  }
  const mode = fromLink ? 'link' : 'code';

  // Server field name → input id. Fields the page does not show have no entry.
  const inputs = mode === 'link'
    ? { Password: 'password', PasswordConfirm: 'password-confirm' }
    : { EmailAddress: 'email', TemporaryPassword: 'code', Password: 'password', PasswordConfirm: 'password-confirm' };

  // The generic validators name wire fields ("'PasswordConfirm' must be equal to
  // 'Password'."); say the same in the page's words. Every other message (the password
  // policy, a malformed email) is shown as the server wrote it, in the page's language.
  const plainWords = {
    'EmailAddress/NotEmpty': t.email_empty,
    'TemporaryPassword/NotEmpty': t.code_empty,
    'Password/NotEmpty': t.password_empty,
    'PasswordConfirm/NotEmpty': t.confirm_empty,
    'PasswordConfirm/NotEqual': t.mismatch,
  };

  function show(id, visible) {
    $(id).hidden = !visible;
  }

  function say(id, text) {
    $(id).textContent = text;
  }

  function alertText(text) {
    say('alert', text);
    show('alert', Boolean(text));
  }

  function clearErrors() {
    alertText('');
    for (const id of Object.values(inputs)) {
      const input = $(id);
      input.removeAttribute('aria-invalid');
      say(id + '-error', '');
      show(id + '-error', false);
    }
  }

  function fieldError(id, text) {
    const input = $(id);
    input.setAttribute('aria-invalid', 'true');
    say(id + '-error', text);
    show(id + '-error', true);
  }

  function forget() {
    lead = null;
    secret = null;
    $('password').value = '';
    $('password-confirm').value = '';
  }

  // The code or link was wrong, expired, used or superseded: the server does not say which.
  function rejected() {
    if (mode === 'link') {
      finished();
      forget();
      show('reset-form', false);
      show('intro', false);
      say('rejected-heading', t.link_rejected_heading);
      say('rejected-text', t.link_rejected_text);
    } else {
      say('rejected-heading', t.code_rejected_heading);
      say('rejected-text', t.code_rejected_text);
    }
    show('rejected', true);
    $('rejected').focus();
  }

  function finished() {
    say('heading', t.done_title);
    document.title = t.done_title;
  }

  function succeeded() {
    finished();
    forget();
    show('reset-form', false);
    show('intro', false);
    show('rejected', false);
    alertText('');
    show('success', true);
    $('success').focus();
  }

  function render(status, data) {
    const rs = (data && data.ResponseStatus) || {};
    if (rs.ErrorCode === 'InvalidOrExpiredCode') {
      rejected();
      return;
    }
    if (status === 401) {
      alertText(t.unauthorized);
      return;
    }
    if (status === 429) {
      alertText(t.too_many);
      return;
    }
    const errors = Array.isArray(rs.Errors) ? rs.Errors : [];
    let first = null;
    const other = [];
    for (const e of errors) {
      const id = inputs[e.FieldName];
      const text = plainWords[e.FieldName + '/' + e.ErrorCode] || e.Message || t.check_field;
      if (id) {
        if ($(id + '-error').hidden) {
          fieldError(id, text);
        }
        first = first || id;
      } else if (mode === 'link' && (e.FieldName === 'LeadId' || e.FieldName === 'TemporaryPassword')) {
        rejected(); // a link cut short or mangled by a mail program
        return;
      } else {
        other.push(text);
      }
    }
    if (other.length || !first) {
      alertText(other.join(' ') || rs.Message || t.generic);
    }
    if (first) {
      $(first).focus();
    }
  }

  async function send(event) {
    event.preventDefault();
    if (submit.disabled) {
      return;
    }
    clearErrors();
    if (mode === 'code') {
      show('rejected', false);
    }
    const body = { Password: $('password').value, PasswordConfirm: $('password-confirm').value, ApiKey: apiKey };
    if (mode === 'link') {
      body.LeadId = lead || '';
      body.TemporaryPassword = secret || '';
    } else {
      body.EmailAddress = $('email').value.trim();
      body.TemporaryPassword = $('code').value.trim();
    }
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    let status = 0;
    let data = null;
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
        referrerPolicy: 'no-referrer',
        redirect: 'error',
      });
      status = res.status;
      data = await res.json().catch(() => null);
    } catch (_) {
      alertText(t.offline);
      return;
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
    }
    if (data && data.WasSuccessful === true) {
      succeeded();
    } else {
      render(status, data);
    }
  }

  $('show-passwords').addEventListener('change', (event) => {
    const type = event.target.checked ? 'text' : 'password';
    $('password').type = type;
    $('password-confirm').type = type;
  });
  form.addEventListener('submit', send);

  if (mode === 'link' && !(lead && secret)) {
    rejected();
    say('rejected-heading', t.incomplete_heading);
    say('rejected-text', t.incomplete_text);
    return;
  }
  if (mode === 'code') {
    say('intro', t.intro_code);
    show('field-email', true);
    show('field-code', true);
  } else {
    say('intro', t.intro_link);
  }
  show('intro', true);
  show('reset-form', true);
  $(mode === 'code' ? 'email' : 'password').focus();
})();
