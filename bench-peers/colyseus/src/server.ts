/**
 * The fan-out bench's Colyseus 0.16 server (a child process the bench pins to one core): one
 * room type whose state is the bench scene (bench/src/fanout/scene.ts) as a MapSchema of
 * entities, simulated at 60 Hz (10 entities moved per step) and patched at 20 Hz, as a Colyseus
 * game would be written. Prints `listening <port>` on stdout, then answers the probe.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Room, Server } from '@colyseus/core';
import { WebSocketTransport } from '@colyseus/ws-transport';
import { schema } from '@colyseus/schema';
import { COLYSEUS_MOVES_PER_STEP, COLYSEUS_SIM_HZ, ENTITIES, FRAME_HZ, positionOf } from '../../../bench/src/fanout/scene.js';
import { serveProbe } from '../../../bench/src/fanout/probe.js';

// Built with schema(), not decorated classes: class fields would shadow the tracked accessors.
const Entity = schema({ x: 'number', y: 'number', radius: 'number' }, 'Entity');
const State = schema({ entities: { map: Entity } }, 'State');
type StateT = InstanceType<typeof State>;

let steps = 0;
let patches = 0;

class FanoutRoom extends Room<StateT> {
  override maxClients = 20_000;
  private next = 0;
  private readonly moves: number[] = [];

  override onCreate(): void {
    const state = new State();
    for (let i = 0; i < ENTITIES; i++) {
      const e = new Entity();
      const p = positionOf(i, 0);
      e.x = p.x;
      e.y = p.y;
      e.radius = 1;
      state.entities.set(String(i), e);
      this.moves.push(0);
    }
    this.setState(state);
    this.setPatchRate(1000 / FRAME_HZ);
    this.setSimulationInterval(() => this.step(), 1000 / COLYSEUS_SIM_HZ);
  }

  override onBeforePatch(): void {
    patches++;
  }

  private step(): void {
    steps++;
    for (let c = 0; c < COLYSEUS_MOVES_PER_STEP; c++) {
      const i = this.next;
      this.next = (this.next + 1) % ENTITIES;
      const p = positionOf(i, ++this.moves[i]);
      const e = this.state.entities.get(String(i))!;
      e.x = p.x;
      e.y = p.y;
    }
  }
}

const httpServer = createServer();
const gameServer = new Server({ transport: new WebSocketTransport({ server: httpServer }), greet: false });
gameServer.define('fanout', FanoutRoom);
await gameServer.listen(0, '127.0.0.1');
serveProbe(() => ({ steps, frames: patches }));
process.stdout.write(`listening ${(httpServer.address() as AddressInfo).port}\n`);
