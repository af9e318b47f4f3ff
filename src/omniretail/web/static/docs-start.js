// Starts Swagger UI on /docs with the settings the page carries in data attributes, so the
// page has no inline script (api/docs.py renders it; api/security_headers.py sets its CSP).
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    // ~300 operations: list the tags folded (open one to see its operations), find one with
    // the filter box, and leave the schemas to each operation: the page is ready in a second
    // or two instead of laying out every operation and model at once.
    docExpansion: "none",
    defaultModelsExpandDepth: -1,
    filter: true,
    showExtensions: true,
    showCommonExtensions: true,
    oauth2RedirectUrl: window.location.origin + node.dataset.oauth2RedirectUrl,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
