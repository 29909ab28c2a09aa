// En väg in: a small progressive enhancement. Every page works without it.
// - moves focus to the error summary, and its links to their fields;
// - suggests a category while the resident types (GraphQL `classify`);
// - shows knowledge-base articles that may answer the text (`answers`):
//   residents may say one answered them (an anonymous deflection), staff
//   may note the articles they used in an answer given on the spot;
// - fills the hidden position fields from the Geolocation API;
// - keeps an open status page up to date over the GraphQL WebSocket
//   (graphql-transport-ws, subscription `requestEvents`), announcing each
//   change in an aria-live region.
(function () {
  'use strict';

  function graphql(query, variables) {
    return fetch('/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'omit',
      body: JSON.stringify({ query: query, variables: variables })
    }).then(function (r) { return r.json(); });
  }

  // The error summary: announced (role="alert") and focused; its links
  // move focus to the field they name.
  function errorSummary() {
    var summary = document.getElementById('error-summary');
    if (!summary) { return; }
    summary.focus();
    summary.addEventListener('click', function (event) {
      var link = event.target.closest('a[href^="#"]');
      if (!link) { return; }
      var target = document.getElementById(link.getAttribute('href').slice(1));
      if (!target) { return; }
      event.preventDefault();
      if (target.tabIndex < 0 && !/^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(target.tagName)) {
        target.setAttribute('tabindex', '-1');
      }
      target.focus();
      target.scrollIntoView({ block: 'center' });
    });
  }

  // "Det här låter som: Gatubelysning — stämmer det?"
  function suggestion() {
    var description = document.getElementById('description');
    var box = document.getElementById('suggestion');
    var category = document.getElementById('category');
    if (!description || !box || !category || !window.fetch) { return; }
    var timer = null;
    var shown = '';
    var query = 'query($text: String!, $language: String) { classify(text: $text, first: 1) { category confidence name(language: $language) } }';
    function show(code, name) {
      box.textContent = '';
      var p = document.createElement('p');
      p.appendChild(document.createTextNode(box.dataset.prefix + ' '));
      var strong = document.createElement('strong');
      strong.textContent = name;
      p.appendChild(strong);
      p.appendChild(document.createTextNode(' ' + box.dataset.suffix));
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'button secondary';
      button.id = 'accept-suggestion';
      button.textContent = box.dataset.choose + ' ' + name;
      button.addEventListener('click', function () {
        category.value = code;
        box.textContent = '';
        var done = document.createElement('p');
        done.textContent = box.dataset.chosen + ' ' + name + '.';
        box.appendChild(done);
        category.focus();
      });
      box.appendChild(p);
      box.appendChild(button);
    }
    function ask() {
      var text = description.value.trim();
      if (text.length < 12) { return; }
      graphql(query, { text: text, language: box.dataset.lang }).then(function (answer) {
        var best = answer && answer.data && answer.data.classify && answer.data.classify[0];
        if (!best || best.confidence < 0.4 || !best.name) { return; }
        if (best.category === shown || best.category === category.value) { return; }
        shown = best.category;
        show(best.category, best.name);
      }).catch(function () { /* the form works without a suggestion */ });
    }
    description.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 500);
    });
  }

  // "Ring 112" while the resident types, not only on the receipt: someone
  // describing a fire should not first finish the form. The box has
  // role="alert", so a screen reader announces the advice when it appears.
  function emergencyWhileTyping() {
    var description = document.getElementById('description');
    var box = document.getElementById('emergency-live');
    if (!description || !box || !window.fetch) { return; }
    var timer = null;
    var shown = null;
    var query = 'query($text: String!, $language: String) { emergencyAdvice(text: $text, language: $language) }';
    function show(advice) {
      if (advice === shown) { return; }
      shown = advice;
      box.textContent = '';
      if (!advice) { return; }
      var heading = document.createElement('h2');
      heading.textContent = box.dataset.heading;
      var p = document.createElement('p');
      p.textContent = advice;
      box.appendChild(heading);
      box.appendChild(p);
    }
    function ask() {
      var text = description.value.trim();
      if (text.length < 8) { show(null); return; }
      graphql(query, { text: text, language: box.dataset.lang }).then(function (answer) {
        if (answer && answer.data) { show(answer.data.emergencyAdvice); }
      }).catch(function () { /* the receipt still carries the advice */ });
    }
    description.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 400);
    });
  }

  // "Kanske hittar du svaret här": up to three articles, each expandable.
  function answers() {
    var description = document.getElementById('description');
    var box = document.getElementById('kb-answers');
    if (!description || !box || !window.fetch) { return; }
    var staff = box.dataset.mode === 'staff';
    var timer = null;
    var shownFor = '';
    var query = 'query($text: String!, $language: String) { answers(text: $text, language: $language, first: 3) { article { id slug title bodyHtml } } }';
    function useArticle(slug, title, item) {
      var field = document.getElementById('articles');
      if (!field) { return; }
      var slugs = field.value.split(',').map(function (s) { return s.trim(); }).filter(Boolean);
      if (slugs.indexOf(slug) < 0) { slugs.push(slug); }
      field.value = slugs.join(', ');
      var note = document.createElement('p');
      note.textContent = box.dataset.used + ' ' + title + '.';
      item.appendChild(note);
    }
    function helped(id, item) {
      graphql('mutation($id: ID!) { recordDeflection(articleId: $id) }', { id: id })
        .then(function () {
          var thanks = document.createElement('p');
          thanks.className = 'kb-thanks';
          thanks.textContent = box.dataset.thanks;
          item.appendChild(thanks);
        })
        .catch(function () { /* counting is not worth an error */ });
    }
    function show(list) {
      box.textContent = '';
      if (!list.length) { box.hidden = true; return; }
      var heading = document.createElement('h2');
      heading.textContent = box.dataset.heading;
      box.appendChild(heading);
      list.forEach(function (found, i) {
        var article = found.article;
        var item = document.createElement('details');
        item.className = 'kb-article';
        var summary = document.createElement('summary');
        summary.id = 'answer-' + i;
        summary.textContent = article.title;
        item.appendChild(summary);
        var body = document.createElement('div');
        // bodyHtml is rendered by the server with raw HTML escaped and
        // only web, mail and phone links.
        body.innerHTML = article.bodyHtml;
        item.appendChild(body);
        var button = document.createElement('button');
        button.type = 'button';
        button.className = 'button secondary';
        button.id = 'answer-' + i + '-action';
        button.textContent = staff ? box.dataset.use : box.dataset.helped;
        button.addEventListener('click', function () {
          button.disabled = true;
          if (staff) { useArticle(article.slug, article.title, item); } else { helped(article.id, item); }
        });
        item.appendChild(button);
        box.appendChild(item);
      });
      box.hidden = false;
    }
    function ask() {
      var text = description.value.trim();
      if (text.length < 12 || text === shownFor) { return; }
      // The language is read from the text: a resident may write English
      // on the Swedish page.
      graphql(query, { text: text, language: null }).then(function (answer) {
        var list = (answer && answer.data && answer.data.answers) || [];
        shownFor = text;
        show(list);
      }).catch(function () { /* the form works without answers */ });
    }
    description.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 500);
    });
  }

  // "Använd min position": fills the hidden latitude and longitude.
  function position() {
    var geo = document.querySelector('[data-geo]');
    if (!geo || !navigator.geolocation) { return; }
    var button = document.getElementById('use-position');
    var status = document.getElementById('position-status');
    var lat = document.getElementById('latitude');
    var lon = document.getElementById('longitude');
    geo.hidden = false;
    function removeButton() {
      var remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'button secondary';
      remove.textContent = geo.dataset.remove;
      remove.addEventListener('click', function () {
        lat.value = '';
        lon.value = '';
        status.textContent = geo.dataset.removed;
        button.focus();
      });
      return remove;
    }
    button.addEventListener('click', function () {
      navigator.geolocation.getCurrentPosition(function (p) {
        lat.value = p.coords.latitude.toFixed(6);
        lon.value = p.coords.longitude.toFixed(6);
        status.textContent = geo.dataset.added + ' ' + lat.value + ', ' + lon.value + ' ';
        status.appendChild(removeButton());
      }, function () {
        status.textContent = geo.dataset.failed;
      }, { timeout: 15000, maximumAge: 60000 });
    });
  }

  // The status page, live.
  function live() {
    var root = document.getElementById('live-status');
    if (!root || !window.WebSocket || !window.fetch || !window.DOMParser) { return; }
    var announcer = document.getElementById('announcer');
    var note = root.querySelector('.live-note');
    var subscription = 'subscription($r: String!, $t: String) { requestEvents(reference: $r, trackingCode: $t) { kind status at } }';
    var attempts = 0;
    var stopped = false;

    function announce(text) {
      announcer.textContent = '';
      setTimeout(function () { announcer.textContent = text; }, 100);
    }

    function refresh(quiet) {
      return fetch(window.location.href, { credentials: 'same-origin', cache: 'no-store' })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('request-details');
          var current = document.getElementById('request-details');
          if (!fresh || !current) { return; }
          current.replaceWith(document.importNode(fresh, true));
          var name = document.getElementById('status-name');
          if (!quiet) { announce(root.dataset.updated + ' ' + (name ? name.textContent : '')); }
        })
        .catch(function () { /* keep the page as it is */ });
    }

    function connect() {
      var scheme = window.location.protocol === 'https:' ? 'wss://' : 'ws://';
      var socket = new WebSocket(scheme + window.location.host + '/graphql/ws', 'graphql-transport-ws');
      socket.onopen = function () {
        socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      };
      socket.onmessage = function (event) {
        var message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        if (message.type === 'connection_ack') {
          socket.send(JSON.stringify({
            id: '1', type: 'subscribe',
            payload: { query: subscription, variables: { r: root.dataset.reference, t: root.dataset.code } }
          }));
          if (attempts > 0) { refresh(true); }
          attempts = 0;
          root.dataset.live = 'connected';
          if (note) { note.hidden = false; }
        } else if (message.type === 'next') {
          refresh(false);
        } else if (message.type === 'ping') {
          socket.send(JSON.stringify({ type: 'pong' }));
        } else if (message.type === 'error' || message.type === 'complete') {
          stopped = true;
          socket.close();
        }
      };
      socket.onclose = function () {
        root.dataset.live = 'closed';
        if (note) { note.hidden = true; }
        if (stopped || attempts >= 5) { return; }
        attempts += 1;
        setTimeout(connect, 2000 * attempts);
      };
    }
    connect();
  }

  function start() {
    errorSummary();
    suggestion();
    emergencyWhileTyping();
    answers();
    position();
    live();
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
