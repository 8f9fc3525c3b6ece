'use strict';
const http = require('node:http');
const port = Number(process.env.PORT || 8080);
http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ service: 'shop-api', uid: process.getuid() }));
}).listen(port, () => console.log(`shop-api listening on ${port}`));
