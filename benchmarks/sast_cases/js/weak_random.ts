// Held-out SAST benchmark cases: weak randomness for security values (CWE-330/338). Scan input only.
import express, { Request, Response } from 'express';
import Hapi from '@hapi/hapi';
import crypto from 'crypto';

const app = express();
const server = Hapi.server({ port: 3000 });

app.post('/reset', (req: Request, res: Response) => {
  const token = Math.random().toString(36).substring(2); // case: weak-random vulnerable
  res.json({ token });
});

app.post('/otp', (req: Request, res: Response) => {
  const otp = Math.floor(100000 + Math.random() * 900000); // case: weak-random vulnerable
  res.json({ otp });
});

server.route({
  method: 'POST',
  path: '/api-keys',
  handler: () => {
    let key = '';
    for (let i = 0; i < 32; i++) key += 'abcdef0123456789'[Math.floor(Math.random() * 16)]; // case: weak-random vulnerable
    return { key };
  }
});

function newSessionId(): string {
  return Date.now().toString(16) + Math.random().toString(16).slice(2); // case: weak-random vulnerable
}

app.post('/invite', (req: Request, res: Response) => {
  const inviteCode: string = (Math.random() * 1e16).toString(36); // case: weak-random vulnerable
  res.json({ inviteCode, sid: newSessionId() });
});

app.post('/reset2', (req: Request, res: Response) => {
  const token = crypto.randomBytes(32).toString('base64url'); // case: weak-random safe
  res.json({ token });
});

app.post('/otp2', (req: Request, res: Response) => {
  const otp = crypto.randomInt(100000, 1000000); // case: weak-random safe
  res.json({ otp });
});

server.route({
  method: 'GET',
  path: '/retry',
  handler: async () => {
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 400)); // case: weak-random safe
    return {};
  }
});

app.get('/sample', (req: Request, res: Response) => {
  const rows = [1, 2, 3, 4, 5].sort(() => Math.random() - 0.5); // case: weak-random safe
  res.json(rows);
});

app.post('/invite2', (req: Request, res: Response) => {
  res.json({ inviteCode: crypto.randomUUID() }); // case: weak-random safe
});
