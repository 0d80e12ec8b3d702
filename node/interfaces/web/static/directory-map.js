/* Draws the markers of a page's list on a map (directory.html, campaign.html).
 *
 * Progressive: the list is complete without this script. It reads the page's
 * <script type="application/json" id="map-data"> ({tiles, attribution, markers: [{lat, lon,
 * name, url, place}], centre?}), shows the hidden #map and draws it with the Leaflet this node
 * serves. Every text goes in as text (textContent), never as HTML.
 */
(function () {
  "use strict";

  function start() {
    var holder = document.getElementById("map");
    var source = document.getElementById("map-data");
    if (!holder || !source || typeof window.L === "undefined") {
      return;
    }
    var data;
    try {
      data = JSON.parse(source.textContent);
    } catch (e) {
      return;
    }
    var L = window.L;
    var markers = Array.isArray(data.markers) ? data.markers : [];
    holder.hidden = false;
    if (holder.parentElement) {
      holder.parentElement.classList.add("has-map");
    }
    var map = L.map(holder, { scrollWheelZoom: false, zoomControl: false });
    // The page's language for the buttons' names (Leaflet's own are in English).
    L.control
      .zoom({
        zoomInTitle: holder.getAttribute("data-zoom-in") || "Zoom in",
        zoomOutTitle: holder.getAttribute("data-zoom-out") || "Zoom out",
      })
      .addTo(map);
    // Leaflet's credit to itself and its popups' close button, in the page's words too.
    var about = document.createElement("a");
    about.href = "https://leafletjs.com";
    about.title =
      holder.getAttribute("data-leaflet-title") || "A JavaScript library for interactive maps";
    about.textContent = "Leaflet";
    map.attributionControl.setPrefix(about.outerHTML);
    var closeLabel = holder.getAttribute("data-close-popup") || "Close popup";
    map.on("popupopen", function (e) {
      var shown = e.popup.getElement();
      var close = shown ? shown.querySelector(".leaflet-popup-close-button") : null;
      if (close) {
        close.setAttribute("aria-label", closeLabel);
        close.title = closeLabel;
      }
    });
    var credit = document.createElement("span");
    var creditText = credit;
    if (data.attributionUrl && /^https?:\/\//i.test(data.attributionUrl)) {
      creditText = document.createElement("a");
      creditText.href = data.attributionUrl;
      credit.appendChild(creditText);
    }
    creditText.textContent = data.attribution || "";
    var layers = [];
    var bounds = L.latLngBounds([]);
    markers.forEach(function (m) {
      if (typeof m.lat !== "number" || typeof m.lon !== "number") {
        return;
      }
      var popup = document.createElement("div");
      var link = m.url && /^https?:\/\//i.test(m.url);
      var name = document.createElement(link ? "a" : "strong");
      name.textContent = m.name || "";
      if (link) {
        name.href = m.url;
      }
      popup.appendChild(name);
      if (m.place) {
        var where = document.createElement("div");
        where.textContent = m.place;
        popup.appendChild(where);
      }
      layers.push(
        L.marker([m.lat, m.lon], { title: m.name || "", alt: m.name || "" }).bindPopup(popup)
      );
      bounds.extend([m.lat, m.lon]);
    });
    var centre = data.centre;
    if (centre && typeof centre.lat === "number" && typeof centre.lon === "number") {
      var radius = typeof centre.radius_km === "number" ? centre.radius_km * 1000 : 0;
      if (radius > 0) {
        layers.push(L.circle([centre.lat, centre.lon], { radius: radius, fill: false }));
        bounds.extend(L.latLng(centre.lat, centre.lon).toBounds(radius * 2));
      } else {
        bounds.extend([centre.lat, centre.lon]);
      }
    }
    // The view first: Leaflet places layers only on a map that has one.
    if (bounds.isValid()) {
      map.fitBounds(bounds, { maxZoom: 12, padding: [24, 24] });
    } else {
      map.setView([20, 0], 2);
    }
    // Tile servers ask to know which site uses them (OpenStreetMap's policy); the pages send
    // no referrer elsewhere, so tiles get the origin alone, never the search in the address.
    L.tileLayer(data.tiles, {
      maxZoom: 19,
      attribution: credit.innerHTML,
      referrerPolicy: "strict-origin",
    }).addTo(map);
    layers.forEach(function (layer) {
      layer.addTo(map);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
