// Keep the page working offline after one visit: register the service worker (sw.js) where browsers allow it
// (https, or http on localhost / 127.0.0.1). From file:// there is nothing to register; the single-file export
// carries everything it needs instead.

if ('serviceWorker' in navigator && window.isSecureContext && location.protocol.startsWith('http')) {
  navigator.serviceWorker.register(new URL('sw.js', import.meta.url)).catch((err) => {
    console.warn(`Glassbox: offline mode is unavailable (${err.message})`);
  });
}
