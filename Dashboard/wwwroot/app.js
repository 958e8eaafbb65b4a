window.aspireBatch = {
  timeZone: function () {
    let name = null;
    try { name = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { name = null; }
    return { name: name, offsetMinutes: new Date().getTimezoneOffset() };
  }
};
